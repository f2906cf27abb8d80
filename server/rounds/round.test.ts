import { Wallet } from 'ethers';
import { io } from 'socket.io-client';
import { ProtocolAgent, type AgentEvent } from '../../client-agent/protocol/index.js';
import type { RunningServer } from '../app.js';
import type { Chain } from '../chain/chain.service.js';
import { encodeFrame } from '../../aggregation/index.js';
import { ChainReceipt, ModelVersion, Participant, Round, RoundGroup } from '../db/entities.js';
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

const INPUTS = 20;
const CLASSES = 4;
const PARAMS = INPUTS * CLASSES + CLASSES;

describe('rounds over Socket.IO, settled on chain', () => {
  let chain: Chain;
  let server: RunningServer;
  const agents: ProtocolAgent[] = [];
  let bountyId: number;
  const events: AgentEvent[] = [];
  const updates = new Map<string, { delta: Float32Array; samples: number }>();

  beforeAll(async () => {
    chain = await startTestChain();
    server = await startTestServer(chain);
    ({ bountyId } = await sponsorBounty(server, chain, {
      sponsorKey: chain.keys![1]!,
      spec: denseSpec(INPUTS, CLASSES),
      weights: new Float32Array(PARAMS),
      validation: syntheticTask(INPUTS, CLASSES, 400, 7),
      budget: 3_000_000n,
      rounds: 2,
      minParticipants: 3,
    }));
  });
  afterAll(async () => {
    for (const a of agents) a.stop();
    await stopTestServer(server);
    await chain.stop!();
  });

  it('refuses a bounty whose validation set does not match the chain', async () => {
    const res = await fetch(`${server.url}/bounties`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: bountyId,
        spec: denseSpec(INPUTS, CLASSES),
        initialWeights: Buffer.alloc(PARAMS * 4).toString('base64'),
        validation: Buffer.from('TVS1').toString('base64'),
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    const missing = await fetch(`${server.url}/bounties/999`);
    expect(missing.status).toBe(404);
  });

  it('refuses a plaintext bounty (benchmarks only) unless started to allow one', async () => {
    const res = await fetch(`${server.url}/bounties`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: bountyId,
        spec: { ...denseSpec(INPUTS, CLASSES), plaintext: true },
        initialWeights: Buffer.alloc(PARAMS * 4).toString('base64'),
        validation: Buffer.from('TVS1').toString('base64'),
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /plaintext/,
    );
  });

  it('rejects a handshake with a signature by another wallet', async () => {
    const me = Wallet.createRandom();
    const ch = (await (
      await fetch(`${server.url}/auth/challenge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ address: me.address }),
      })
    ).json()) as {
      domain: Record<string, unknown>;
      types: { SignIn: { name: string; type: string }[] };
      message: { nonce: string };
    };
    const signature = await Wallet.createRandom().signTypedData(
      ch.domain,
      { SignIn: ch.types.SignIn },
      ch.message,
    );
    const socket = io(`${server.url}/agents`, {
      transports: ['websocket'],
      reconnection: false,
      auth: { address: me.address, nonce: ch.message.nonce, signature },
    });
    try {
      const err = await new Promise<Error & { data?: { code: string } }>((resolve) =>
        socket.on('connect_error', resolve),
      );
      expect(err.data?.code).toBe('BAD_SIGNATURE');
    } finally {
      socket.disconnect();
    }
  });

  it('an agent that did not join on chain cannot join the pool', async () => {
    const stranger = new ProtocolAgent({
      serverUrl: server.url,
      wallet: Wallet.createRandom() as unknown as Wallet,
      bountyId,
      reconnect: false,
      train: async () => ({ delta: new Float32Array(PARAMS), samples: 1 }),
    });
    try {
      await expect(stranger.start()).rejects.toMatchObject({ code: 'NOT_JOINED' });
    } finally {
      stranger.stop();
    }
  });

  it('six agents in two groups: the plaintext weighted mean, scored and recorded on chain', async () => {
    for (let i = 0; i < 6; i++) {
      const wallet = await joinOnChain(chain, chain.keys![2 + i]!, bountyId);
      // A useful update (kernel towards the task's class blocks), of a different size per agent.
      const delta = Float32Array.from({ length: PARAMS }, (_, k) => {
        if (k >= INPUTS * CLASSES) return 0;
        const [j, c] = [Math.floor(k / CLASSES), k % CLASSES];
        return Math.floor(j / (INPUTS / CLASSES)) === c ? (0.05 * (i + 1)) / 6 : -0.01 * (i % 2);
      });
      const samples = 10 * (i + 1);
      updates.set(wallet.address, { delta, samples });
      const agent = new ProtocolAgent({
        serverUrl: server.url,
        wallet,
        bountyId,
        reconnect: true,
        train: async () => ({ delta, samples }),
        onEvent: (e) => {
          events.push(e);
          // One agent loses its connection right after sending its keys: it must resume.
          if (i === 0 && e.type === 'sent' && e.stage === 'keys' && e.roundId === 1)
            agent.dropConnection();
        },
      });
      agents.push(agent);
      await agent.start();
    }
    await waitFor(
      async () => (await server.ds.getRepository(ModelVersion).countBy({ bountyId })) >= 2,
    );
    const round = await server.ds.getRepository(Round).findOneByOrFail({ bountyId, number: 1 });
    expect(round.ledgerRound).toBe(1);
    const groups = await server.ds.getRepository(RoundGroup).findBy({ roundId: round.id });
    expect(groups.map((g) => g.members.length)).toEqual([3, 3]);
    expect(groups.every((g) => g.state === 'aggregated')).toBe(true);
    const v1 = await server.ds
      .getRepository(ModelVersion)
      .findOneByOrFail({ bountyId, version: 1 });
    const w = new Float32Array(new Uint8Array(v1.weights).buffer);
    let total = 0;
    const expected = new Float32Array(PARAMS);
    for (const { delta, samples } of updates.values()) {
      total += samples;
      for (let k = 0; k < PARAMS; k++) expected[k]! += delta[k]! * samples;
    }
    for (let k = 0; k < PARAMS; k++) expect(w[k]).toBeCloseTo(expected[k]! / total, 3);
    const [{ n }] = await server.ds.query(
      `SELECT count(*)::int AS n FROM stage_message WHERE stage = 'masked'`,
    );
    expect(n).toBe(0);
    expect(events.some((e) => e.type === 'reconnected')).toBe(true);

    // Settlement: one recordRound for (bounty, round 1); rewards on chain equal the server's.
    await waitFor(
      async () =>
        (await server.ds.getRepository(Round).findOneByOrFail({ id: round.id })).state ===
        'settled',
    );
    const receipts = await server.ds
      .getRepository(ChainReceipt)
      .findBy({ bountyId, roundNumber: 1, kind: 'recordRound' });
    expect(receipts).toHaveLength(1);
    const recorded = await chain.contracts.bounties.recordedRounds(BigInt(bountyId));
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.modelHash).toBe(v1.hash);
    const ps = await server.ds.getRepository(Participant).findBy({ roundId: round.id });
    const onChain = new Map(recorded[0]!.contributions.map((c) => [c.account, c.reward]));
    expect(onChain.size).toBe(6);
    for (const p of ps) expect(onChain.get(p.address)).toBe(BigInt(p.reward!));
    const { roundBudget } = await chain.contracts.bounties.getBounty(BigInt(bountyId));
    expect(ps.reduce((a, p) => a + BigInt(p.reward!), 0n)).toBe(roundBudget);
    const mv = await chain.contracts.registry.getVersion(BigInt(bountyId), 1);
    expect(mv.artifactHash).toBe(v1.hash);

    // The model is for contributors only: an unsigned or unlicensed download is refused.
    const url = `${server.url}/models/${bountyId}/versions/1/weights.bin`;
    const anon = await fetch(url);
    expect(anon.status).toBe(403);
    expect(((await anon.json()) as { error: { code: string } }).error.code).toBe('NO_LICENCE');
    const outsider = new ProtocolAgent({
      serverUrl: server.url,
      wallet: Wallet.createRandom() as unknown as Wallet,
      bountyId,
      train: async () => ({ delta: new Float32Array(0), samples: 0 }),
    });
    const refused = await fetch(url, {
      headers: await outsider.downloadHeaders('/models/' + bountyId + '/versions/1/'),
    });
    expect(refused.status).toBe(403);
    const ok = await fetch(url, {
      headers: await agents[0]!.downloadHeaders('/models/' + bountyId + '/versions/1/'),
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-model-hash')).toBe(v1.hash);
  });

  it('late, foreign and malformed stage messages get typed errors and change nothing', async () => {
    const agent = agents[1]!;
    const send = (body: unknown) =>
      (agent as unknown as { request(e: string, b: unknown): Promise<unknown> }).request(
        'stage',
        body,
      );
    const unmask = encodeFrame({
      type: 'unmask',
      round: 'a',
      group: 'b',
      client: 'c',
      bShares: [],
      sShares: [],
    });
    await expect(send({ roundId: 1, stage: 'keys', message: {} })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(send({ roundId: 'x' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(
      send({
        roundId: 999,
        stage: 'unmask',
        message: unmask,
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      send({
        roundId: 1,
        stage: 'unmask',
        message: unmask,
      }),
    ).rejects.toMatchObject({ code: 'STAGE_CLOSED' });
    const status = await agent.status();
    expect(status.rounds.length).toBeGreaterThanOrEqual(1);
  });
});
