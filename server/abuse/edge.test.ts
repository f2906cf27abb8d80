/**
 * Hostile input and abuse at the edge, against a real server (PostgreSQL, Redis, anvil): every bad
 * input of issue 10 gets its typed code and changes nothing; then fast-check throws generated REST
 * requests and socket messages at the server while three honest agents run a round, and counts
 * inputs tried, 5xx (or INTERNAL) answers and honest results changed.
 */
import fc from 'fast-check';
import { Wallet } from 'ethers';
import { io, type Socket } from 'socket.io-client';
import { createIdentity, encodeFrame, keysPayload, signRound } from '../../aggregation/index.js';
import { ProtocolAgent } from '../../client-agent/protocol/index.js';
import type { RunningServer } from '../app.js';
import type { Chain } from '../chain/chain.service.js';
import { AuthService } from '../auth/auth.service.js';
import { AuthChallenge, Bounty, ModelVersion, Round } from '../db/entities.js';
import { DOWNLOAD_WINDOW_S, downloadMessage } from '../models/licence.js';
import {
  denseSpec,
  joinOnChain,
  sponsorBounty,
  startTestChain,
  startTestServer,
  stopTestServer,
  syntheticTask,
  waitFor,
} from '../test/harness.js';
import { SESSION_REPLACED_EVENT } from '../gateway/sessions.js';

const INPUTS = 8;
const CLASSES = 2;
const PARAMS = INPUTS * CLASSES + CLASSES;
const BIG = [2 ** 31, 2 ** 31 + 7, 2 ** 53, 1e300];

type Ack = { ok?: boolean; error?: { code: string; message: string } };

async function challengeOf(url: string, address: string) {
  const res = await fetch(`${url}/auth/challenge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ address }),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as {
      domain: Record<string, unknown>;
      types: { SignIn: { name: string; type: string }[] };
      message: { nonce: string; server: string } & Record<string, unknown>;
      error?: { code: string };
    },
  };
}

/** A signed-in raw socket on `/agents` (connect errors reject with their `data`). */
async function signIn(url: string, wallet: Wallet, over: Record<string, unknown> = {}) {
  const ch = (await challengeOf(url, wallet.address)).body;
  const signature = await wallet.signTypedData(
    ch.domain,
    { SignIn: ch.types.SignIn },
    { ...ch.message, ...over },
  );
  const socket = io(`${url}/agents`, {
    transports: ['websocket'],
    reconnection: false,
    auth: { address: wallet.address, nonce: ch.message.nonce, signature },
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', (e: Error & { data?: unknown }) =>
      reject(Object.assign(e, { data: e.data })),
    );
  });
  return socket;
}

const ask = (s: Socket, event: string, body?: unknown): Promise<Ack> =>
  s.timeout(20_000).emitWithAck(event, body) as Promise<Ack>;

describe('bad input and abuse at the edge', () => {
  let chain: Chain;
  let server: RunningServer;
  let honestBounty: number;
  let dupBounty: number;
  const sockets: Socket[] = [];
  const agents: ProtocolAgent[] = [];
  const deltas = new Map<string, Float32Array>();

  beforeAll(async () => {
    chain = await startTestChain();
    // No rate limits (the fuzzer sends thousands of messages) and roomy deadlines, so that the
    // honest round finishes on a loaded machine while the fuzzer runs.
    server = await startTestServer(chain, {
      rateLimits: 'off',
      stageTimeoutsMs: { keys: 30_000, shares: 30_000, masked: 30_000, unmask: 30_000 },
    });
    const base = {
      weights: new Float32Array(PARAMS),
      validation: syntheticTask(INPUTS, CLASSES, 100, 5),
      budget: 1_000_000n,
      rounds: 1,
      minParticipants: 3,
    };
    ({ bountyId: honestBounty } = await sponsorBounty(server, chain, {
      ...base,
      sponsorKey: chain.keys![1]!,
      spec: denseSpec(INPUTS, CLASSES, { minParticipants: 3, maxGroups: 1 }),
    }));
    ({ bountyId: dupBounty } = await sponsorBounty(server, chain, {
      ...base,
      sponsorKey: chain.keys![1]!,
      spec: denseSpec(INPUTS, CLASSES, { minParticipants: 3, maxGroups: 1, clip: 5 }),
    }));
  });
  afterAll(async () => {
    for (const a of agents) a.stop();
    for (const s of sockets) s.disconnect();
    await stopTestServer(server);
    await chain.stop!();
  });

  it('ids of 2^31 and more get BAD_REQUEST on every route and socket event', async () => {
    const routes = (id: string) => [
      `/bounties/${id}`,
      `/bounties/${id}/spec`,
      `/bounties/${id}/rounds`,
      `/bounties/${id}/contributors`,
      `/models/${id}`,
      `/models/${id}/versions/0/model.json`,
      `/models/${id}/versions/0/weights.bin`,
      `/models/${honestBounty}/versions/${id}/model.json`,
    ];
    for (const id of ['2147483648', '99999999999999999999', '-1', '1e3', '0x10']) {
      for (const path of routes(id)) {
        const res = await fetch(`${server.url}${path}`);
        expect([path, res.status]).toEqual([path, 400]);
        expect(((await res.json()) as Ack).error?.code).toBe('BAD_REQUEST');
      }
    }
    const s = await signIn(server.url, Wallet.createRandom() as unknown as Wallet);
    sockets.push(s);
    const frame = encodeFrame({ type: 'unmask', round: 'a', group: 'b', client: 'c' });
    for (const n of BIG) {
      expect(
        (await ask(s, 'stage', { roundId: n, stage: 'keys', message: frame })).error?.code,
      ).toBe('BAD_REQUEST');
      expect((await ask(s, 'join', { bountyId: n })).error?.code).toBe('BAD_REQUEST');
    }
    const watch = io(`${server.url}/watch`, { transports: ['websocket'], reconnection: false });
    try {
      const ack = (await watch.timeout(5000).emitWithAck('watch', { bountyId: 2 ** 31 })) as Ack;
      expect(ack.error?.code).toBe('BAD_REQUEST');
    } finally {
      watch.disconnect();
    }
  });

  it('15 MiB of zero bytes as a stage frame is refused by its part count, before decoding', async () => {
    const s = sockets[0]!;
    const ack = await ask(s, 'stage', {
      roundId: 1,
      stage: 'keys',
      message: new Uint8Array(15 << 20),
    });
    expect(ack.error?.code).toBe('BAD_REQUEST');
    expect(ack.error?.message).toMatch(/parts/);
  });

  it('a topology nested 20,000 deep, bodies over the limit and bad lengths: typed, nothing stored', async () => {
    const before = await server.ds.getRepository(Bounty).count();
    const deep = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    const post = (body: string) =>
      fetch(`${server.url}/bounties`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    const valid = {
      id: 2 ** 31 - 1,
      spec: denseSpec(INPUTS, CLASSES),
      initialWeights: Buffer.alloc(PARAMS * 4).toString('base64'),
      validation: '',
    };
    const deepRes = await post(
      JSON.stringify({ ...valid, spec: { ...valid.spec, modelTopology: { x: 0 } } }).replace(
        '{"x":0}',
        `{"x":${deep}}`,
      ),
    );
    expect(deepRes.status).toBe(400);
    expect(((await deepRes.json()) as Ack).error?.message).toMatch(/deeper than 64/);
    const short = await post(JSON.stringify({ ...valid, initialWeights: 'AAAA' }));
    expect(((await short.json()) as Ack).error?.code).toBe('VECTOR_LENGTH');
    const huge = denseSpec(INPUTS, CLASSES);
    huge.weightSpecs = [{ name: 'w', shape: [2 ** 20, 2 ** 20], dtype: 'float32' }];
    const hugeRes = await post(JSON.stringify({ ...valid, spec: huge }));
    expect(((await hugeRes.json()) as Ack).error?.code).toBe('TOO_LARGE');
    const id = await post(JSON.stringify({ ...valid, id: 2 ** 31 }));
    expect(((await id.json()) as Ack).error?.code).toBe('BAD_REQUEST');
    // Over the limit derived from MAX_MODEL_PARAMS and MAX_VALIDATION_BYTES (far below 512 MB).
    const small = await startTestServer(chain, { maxModelParams: 1000, maxValidationBytes: 1000 });
    try {
      const over = await fetch(`${small.url}/bounties`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...valid, validation: 'A'.repeat(1 << 21) }),
      });
      expect(over.status).toBe(413);
      expect(((await over.json()) as Ack).error?.code).toBe('TOO_LARGE');
      const challenge = await fetch(`${small.url}/auth/challenge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ address: 'x'.repeat(20_000) }),
      });
      expect(challenge.status).toBe(413);
      const broken = await fetch(`${small.url}/auth/challenge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"address":',
      });
      expect(broken.status).toBe(400);
      expect(((await broken.json()) as Ack).error?.code).toBe('BAD_REQUEST');
    } finally {
      await stopTestServer(small);
    }
    expect(await server.ds.getRepository(Bounty).count()).toBe(before);
  });

  it('download headers: malformed ones are BAD_REQUEST; a signature names its version and lasts 60 s at most', async () => {
    const wallet = await joinOnChain(chain, chain.keys![9]!, honestBounty);
    const path = `/models/${honestBounty}/versions/0/model.json`;
    const headers = async (expiryIn = 30, version = 0) => {
      const expiry = Math.floor(Date.now() / 1000) + expiryIn;
      return {
        'x-tributary-address': wallet.address,
        'x-tributary-expiry': String(expiry),
        'x-tributary-signature': await wallet.signMessage(
          downloadMessage(honestBounty, version, expiry),
        ),
      };
    };
    const get = (p: string, h: Record<string, string>) =>
      fetch(`${server.url}${p}`, { headers: h });
    const code = async (r: Response) => ((await r.json()) as Ack).error?.code;
    const good = await headers();
    for (const bad of [
      { ...good, 'x-tributary-address': 'nope' },
      { ...good, 'x-tributary-expiry': 'soon' },
      { ...good, 'x-tributary-signature': '0x1234' },
      { 'x-tributary-address': 'nope' },
    ]) {
      const r = await get(path, bad);
      expect(r.status).toBe(400);
      expect(await code(r)).toBe('BAD_REQUEST');
    }
    expect((await get(path, good)).status).toBe(200);
    const weights = await get(path.replace('model.json', 'weights.bin'), good);
    expect(weights.status).toBe(200);
    const long = await get(path, await headers(DOWNLOAD_WINDOW_S + 60));
    expect(await code(long)).toBe('BAD_REQUEST');
    const otherVersion = await get(
      `/models/${honestBounty}/versions/0/model.json`,
      await headers(30, 1),
    );
    expect(await code(otherVersion)).toBe('BAD_SIGNATURE');
  });

  it('a stage message gets the code of the check it fails; sent 8 times at once: one accepted, seven DUPLICATE', async () => {
    const wallets = [5, 6, 7].map((i) => new Wallet(chain.keys![i]!, chain.provider));
    for (const w of wallets) await joinOnChain(chain, w.privateKey, dupBounty);
    const starts: Promise<{ roundId: number; group: { key: string; round: string } }>[] = [];
    const socks: Socket[] = [];
    for (const w of wallets) {
      const s = await signIn(server.url, w);
      sockets.push(s);
      socks.push(s);
      starts.push(new Promise((resolve) => s.once('round', resolve)));
    }
    for (const s of socks) expect((await ask(s, 'join', { bountyId: dupBounty })).ok).toBe(true);
    const start = await starts[0]!;
    const w = wallets[0]!;
    const m = {
      type: 'advertise' as const,
      round: start.group.round,
      group: start.group.key,
      client: w.address,
      cPk: new Uint8Array(32).fill(1),
      sPk: new Uint8Array(32).fill(2),
      bCommit: new Uint8Array(32).fill(3),
    };
    const id = await createIdentity(
      { chainId: chain.chainId, bountyId: dupBounty },
      w.address,
      (x) => w.signMessage(x),
    );
    const signed = { ...m, cert: id.certificate };
    const frame = encodeFrame({ ...signed, signature: signRound(id, keysPayload(signed)) });
    const send = (stage: string, message: Uint8Array) =>
      ask(socks[0]!, 'stage', { roundId: start.roundId, stage, message });
    // While the stage is open, each check answers with its own code and stores nothing.
    const unsigned = encodeFrame(signed);
    const otherGroup = { ...signed, group: 'g9' };
    const wrongHeader = encodeFrame({
      ...otherGroup,
      signature: signRound(id, keysPayload(otherGroup)),
    });
    expect((await send('keys', unsigned)).error?.code).toBe('BAD_SIGNATURE');
    expect((await send('keys', wrongHeader)).error?.code).toBe('BAD_REQUEST');
    const shares = encodeFrame({
      type: 'shares',
      round: m.round,
      group: m.group,
      client: m.client,
      shares: [],
    });
    expect((await send('shares', shares)).error?.code).toBe('WRONG_STAGE');
    const acks = await Promise.all(
      Array.from({ length: 8 }, () =>
        ask(socks[0]!, 'stage', { roundId: start.roundId, stage: 'keys', message: frame }),
      ),
    );
    expect(acks.filter((a) => a.ok).length).toBe(1);
    expect(acks.filter((a) => a.error?.code === 'DUPLICATE').length).toBe(7);
    // Once answered, a repeat says so first, whatever else is wrong with it.
    expect((await send('keys', unsigned)).error?.code).toBe('DUPLICATE');
  });

  it('fuzz: generated REST requests and socket messages while an honest round runs', async () => {
    const before = {
      bounties: await server.ds.getRepository(Bounty).count(),
      versions: await server.ds.getRepository(ModelVersion).count(),
    };
    // Three honest agents run one round of the honest bounty while the fuzzer runs.
    for (const i of [2, 3, 4]) {
      const wallet = await joinOnChain(chain, chain.keys![i]!, honestBounty);
      const delta = Float32Array.from({ length: PARAMS }, (_, k) => ((k % 5) - 2) * 0.01 * (i - 1));
      deltas.set(wallet.address, delta);
      agents.push(
        new ProtocolAgent({
          serverUrl: server.url,
          wallet,
          bountyId: honestBounty,
          reconnect: false,
          train: async () => ({ delta, samples: 10 }),
        }),
      );
    }
    const fuzzer = await signIn(server.url, Wallet.createRandom() as unknown as Wallet);
    sockets.push(fuzzer);
    await Promise.all(agents.map((a) => a.start()));

    let tried = 0;
    const fives: string[] = [];
    const id = fc.oneof(
      fc.integer({ min: 0, max: 5 }).map(String),
      fc.constantFrom(...BIG.map(String), '-1', '1.5', 'abc', '%00', '0x1', ''),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
    );
    const json = fc.jsonValue({ maxDepth: 4 });
    const headerValue = fc.oneof(
      fc.constantFrom('nope', '0x', '-1', '9'.repeat(30)),
      fc.stringMatching(/^[\x21-\x7e]{0,80}$/),
    );
    const rest = fc.oneof(
      fc.record({
        method: fc.constant('GET'),
        path: fc.oneof(
          id.map((i) => `/bounties/${i}`),
          id.map((i) => `/bounties/${i}/rounds`),
          id.map((i) => `/bounties/${i}/contributors`),
          id.map((i) => `/bounties/${i}/spec`),
          id.map((i) => `/models/${i}`),
          fc.tuple(id, id).map(([b, v]) => `/models/${b}/versions/${v}/model.json`),
          fc.tuple(id, id).map(([b, v]) => `/models/${b}/versions/${v}/weights.bin`),
        ),
        headers: fc.dictionary(
          fc.constantFrom('x-tributary-address', 'x-tributary-expiry', 'x-tributary-signature'),
          headerValue,
        ),
        body: fc.constant(undefined),
      }),
      fc.record({
        method: fc.constant('POST'),
        path: fc.constant('/auth/challenge'),
        headers: fc.constant({ 'content-type': 'application/json' }),
        body: fc.oneof(
          json.map((v) => JSON.stringify(v)),
          fc
            .record({
              address: fc.oneof(json, fc.stringMatching(/^0x[0-9a-fA-F]{0,42}$/)),
            })
            .map((v) => JSON.stringify(v)),
          fc.string({ maxLength: 40 }),
        ),
      }),
      fc.record({
        method: fc.constant('POST'),
        path: fc.constant('/bounties'),
        headers: fc.constant({ 'content-type': 'application/json' }),
        body: fc
          .record(
            {
              id: fc.oneof(fc.integer({ min: -2, max: 20 }), fc.constantFrom(...BIG), json),
              spec: fc.oneof(
                json,
                fc.constant(denseSpec(INPUTS, CLASSES)),
                fc
                  .record({
                    weightSpecs: fc.array(
                      fc.record({
                        name: fc.string({ maxLength: 8 }),
                        shape: fc.array(
                          fc.oneof(fc.integer({ min: -1, max: 1e6 }), fc.constantFrom(...BIG)),
                          { maxLength: 4 },
                        ),
                        dtype: fc.constantFrom('float32', 'int32'),
                      }),
                      { maxLength: 3 },
                    ),
                    modelTopology: json,
                  })
                  .map((over) => ({ ...denseSpec(INPUTS, CLASSES), ...over })),
              ),
              initialWeights: fc.oneof(fc.base64String({ maxLength: 200 }), json),
              validation: fc.oneof(fc.base64String({ maxLength: 200 }), json),
            },
            { requiredKeys: [] },
          )
          .map((v) => JSON.stringify(v)),
      }),
    );
    const bytes = fc.uint8Array({ maxLength: 64 });
    const header = {
      round: fc.string({ maxLength: 8 }),
      group: fc.string({ maxLength: 4 }),
      client: fc.string({ maxLength: 42 }),
    };
    const stageMessage = fc.oneof(
      fc.record({
        type: fc.constant('advertise'),
        ...header,
        cPk: bytes,
        sPk: bytes,
        bCommit: bytes,
        signature: fc.string({ maxLength: 140 }),
      }),
      fc.record({
        type: fc.constant('shares'),
        ...header,
        shares: fc.array(fc.record({ to: fc.string(), ciphertext: bytes }), { maxLength: 5 }),
      }),
      fc.record({
        type: fc.constant('masked'),
        ...header,
        vector: fc.uint8Array({ maxLength: 200 }),
        rejected: fc.array(fc.string(), { maxLength: 3 }),
      }),
      fc.record({
        type: fc.constant('unmask'),
        ...header,
        bShares: fc.array(fc.record({ of: fc.string(), share: bytes }), { maxLength: 4 }),
        sShares: fc.array(fc.record({ of: fc.string(), share: bytes }), { maxLength: 4 }),
      }),
      json,
    );
    const frame = fc.oneof(
      stageMessage.map((m) => encodeFrame(m)),
      fc.uint8Array({ maxLength: 256 }),
      fc.tuple(stageMessage, fc.nat(), fc.nat(255)).map(([m, at, v]) => {
        const f = encodeFrame(m).slice();
        if (f.length > 0) f[at % f.length] = v;
        return f;
      }),
    );
    const socketMsg = fc.oneof(
      fc.record({
        event: fc.constant('stage'),
        body: fc.oneof(
          json,
          fc.record(
            {
              roundId: fc.oneof(
                fc.integer({ min: -1, max: 5 }),
                fc.constantFrom(...BIG),
                fc.double(),
                json,
              ),
              stage: fc.oneof(
                fc.constantFrom('keys', 'shares', 'masked', 'unmask'),
                fc.string({ maxLength: 8 }),
              ),
              message: fc.oneof(frame, json),
              samples: fc.oneof(fc.integer(), fc.double(), json),
            },
            { requiredKeys: [] },
          ),
        ),
      }),
      fc.record({
        event: fc.constant('join'),
        body: fc.oneof(
          json,
          fc.record({
            bountyId: fc.oneof(fc.integer({ min: -1, max: 1e4 }), fc.constantFrom(...BIG), json),
          }),
        ),
      }),
      fc.record({ event: fc.constantFrom('status', 'nonsense', 'round'), body: json }),
    );

    const restRun = fc.assert(
      fc.asyncProperty(rest, async (r) => {
        tried++;
        const res = await fetch(`${server.url}${r.path}`, {
          method: r.method,
          headers: r.headers,
          body: r.body,
        });
        await res.arrayBuffer();
        if (res.status >= 500) fives.push(`${r.method} ${r.path} -> ${res.status}`);
        return res.status < 500;
      }),
      { numRuns: 1000, seed: 10 },
    );
    const socketRun = fc.assert(
      fc.asyncProperty(socketMsg, async (m) => {
        tried++;
        // 'round' and unknown events get no acknowledgement: a short wait is the answer.
        const ack = (await fuzzer
          .timeout(m.event === 'stage' || m.event === 'join' || m.event === 'status' ? 20_000 : 50)
          .emitWithAck(m.event, m.body)
          .catch(() => ({ ok: true }))) as Ack;
        if (ack.error?.code === 'INTERNAL')
          fives.push(`${m.event} -> INTERNAL ${ack.error.message}`);
        return ack.error?.code !== 'INTERNAL';
      }),
      { numRuns: 1000, seed: 11 },
    );
    // The same with the handshake: malformed sign-ins are refused with their codes, never INTERNAL.
    const handshakeRun = fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            address: fc.oneof(json, fc.constant(Wallet.createRandom().address)),
            nonce: fc.oneof(json, fc.stringMatching(/^0x[0-9a-f]{64}$/)),
            signature: fc.oneof(json, fc.stringMatching(/^0x[0-9a-f]{0,130}$/)),
          },
          { requiredKeys: [] },
        ),
        async (auth) => {
          tried++;
          const s = io(`${server.url}/agents`, {
            transports: ['websocket'],
            reconnection: false,
            auth,
          });
          const code = await new Promise<string>((resolve) => {
            s.once('connect', () => resolve('CONNECTED'));
            s.once('connect_error', (e: Error & { data?: { code?: string } }) =>
              resolve(e.data?.code ?? 'NONE'),
            );
          });
          s.disconnect();
          if (code === 'INTERNAL' || code === 'CONNECTED') fives.push(`handshake -> ${code}`);
          return code !== 'INTERNAL' && code !== 'CONNECTED';
        },
      ),
      { numRuns: 200, seed: 12 },
    );
    await Promise.all([restRun, socketRun, handshakeRun]);

    // Honest results: the round settles and moves the model by the plain mean of the updates.
    await waitFor(async () => {
      const r = await server.ds
        .getRepository(Round)
        .findOneBy({ bountyId: honestBounty, number: 1 });
      return r?.state === 'settled';
    }, 120_000);
    const v1 = await server.ds
      .getRepository(ModelVersion)
      .findOneByOrFail({ bountyId: honestBounty, version: 1 });
    const w = new Float32Array(new Uint8Array(v1.weights).buffer.slice(0));
    let changed = 0;
    for (let k = 0; k < PARAMS; k++) {
      let mean = 0;
      for (const d of deltas.values()) mean += d[k]! / deltas.size;
      if (Math.abs(w[k]! - mean) > 1e-4) changed++;
    }
    const after = {
      bounties: await server.ds.getRepository(Bounty).count(),
      versions: await server.ds.getRepository(ModelVersion).count(),
    };
    console.log(
      `fuzz: ${tried} inputs tried, ${fives.length} 5xx/INTERNAL, ${changed} honest results changed`,
    );
    expect(fives).toEqual([]);
    expect(changed).toBe(0);
    expect(after.bounties).toBe(before.bounties);
    expect(after.versions).toBe(before.versions + 1); // the honest round's version, nothing else
  });

  it('security headers, explicit CORS, no X-Powered-By', async () => {
    const res = await fetch(`${server.url}/bounties`, {
      headers: { origin: 'https://example.org' },
    });
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const pre = await fetch(`${server.url}/models/1`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://example.org',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'x-tributary-signature',
      },
    });
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/x-tributary-signature/);
    const strict = await startTestServer(chain, { corsOrigins: ['https://app.example.org'] });
    try {
      const other = await fetch(`${strict.url}/bounties`, {
        headers: { origin: 'https://evil.example' },
      });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const ok = await fetch(`${strict.url}/bounties`, {
        headers: { origin: 'https://app.example.org' },
      });
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.org');
      expect(ok.headers.get('access-control-expose-headers')).toMatch(/x-model-hash/);
    } finally {
      await stopTestServer(strict);
    }
  });

  it('sign-in is bound to this aggregator and chain; one live socket per wallet, the newest wins', async () => {
    const me = Wallet.createRandom() as unknown as Wallet;
    const ch = (await challengeOf(server.url, me.address)).body;
    expect(ch.domain).toMatchObject({
      chainId: chain.chainId,
      verifyingContract: chain.addresses.bounties,
    });
    expect(ch.message.server).toBe(`http://127.0.0.1:${server.port}`);
    // Signed for another origin (a relaying aggregator): refused.
    await expect(signIn(server.url, me, { server: 'http://evil.example' })).rejects.toMatchObject({
      data: { code: 'BAD_SIGNATURE' },
    });
    const first = await signIn(server.url, me);
    sockets.push(first);
    const told = new Promise<Ack>((resolve) => first.once(SESSION_REPLACED_EVENT, resolve));
    const gone = new Promise<string>((resolve) => first.once('disconnect', resolve));
    const second = await signIn(server.url, me);
    sockets.push(second);
    expect((await told).error?.code).toBe('SESSION_REPLACED');
    expect(await gone).toBe('io server disconnect');
    expect(second.connected).toBe(true);
    expect((await ask(second, 'status')).ok).toBe(true);
  });

  it('expired challenges are deleted', async () => {
    const repo = server.ds.getRepository(AuthChallenge);
    await repo.insert({
      nonce: `0x${'ab'.repeat(32)}`,
      address: Wallet.createRandom().address,
      expiresAt: new Date(Date.now() - 1000),
      usedAt: null,
    });
    const live = (await challengeOf(server.url, Wallet.createRandom().address)).body.message.nonce;
    const deleted = await server.app.get(AuthService).deleteExpired();
    expect(deleted).toBeGreaterThanOrEqual(1);
    expect(await repo.countBy({ nonce: `0x${'ab'.repeat(32)}` })).toBe(0);
    expect(await repo.countBy({ nonce: live })).toBe(1);
  });

  it('rate limits on challenges, sign-ins, joins and stage messages hold across two instances', async () => {
    const limits = {
      challenge: { points: 1000, seconds: 60 },
      challengeAddress: { points: 3, seconds: 60 },
      signin: { points: 1000, seconds: 60 },
      join: { points: 2, seconds: 60 },
      stage: { points: 3, seconds: 60 },
    };
    const a = await startTestServer(chain, { rateLimits: limits });
    // A second instance on the same database schema and Redis prefix: the counters are shared.
    const b = await startTestServer(chain, {
      rateLimits: limits,
      dbSchema: a.config.dbSchema,
      redisPrefix: a.config.redisPrefix,
      lanes: 'none',
    });
    try {
      const me = Wallet.createRandom() as unknown as Wallet;
      const codes: (string | undefined)[] = [];
      for (const url of [a.url, b.url, a.url, b.url]) {
        const r = await challengeOf(url, me.address);
        codes.push(r.body.error?.code ?? String(r.status));
        if (r.status === 429) expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      expect(codes).toEqual(['200', '200', '200', 'RATE_LIMITED']);
      const other = Wallet.createRandom() as unknown as Wallet;
      const s1 = await signIn(a.url, other);
      sockets.push(s1);
      const joins = [
        await ask(s1, 'join', { bountyId: 1 }),
        await ask(s1, 'join', { bountyId: 1 }),
        await ask(s1, 'join', { bountyId: 1 }),
      ];
      expect(joins.map((j) => j.error?.code)).toEqual(['NOT_JOINED', 'NOT_JOINED', 'RATE_LIMITED']);
      const stages: (string | undefined)[] = [];
      for (let i = 0; i < 4; i++) stages.push((await ask(s1, 'stage', {})).error?.code);
      expect(stages).toEqual(['BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST', 'RATE_LIMITED']);
    } finally {
      await b.close();
      await stopTestServer(a);
    }
  });
});
