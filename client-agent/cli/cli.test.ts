/**
 * The CLI against a real anvil chain with the contracts deployed: a sponsor funds a bounty, the
 * coordinator records rounds scored by aggregation's `scoreRound`, contributors claim, anyone
 * audits (honest and tampered ledgers), a model user downloads and verifies a version; bad input
 * fails with a code and exit code 2.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet, encryptKeystoreJsonSync, keccak256, toUtf8Bytes } from 'ethers';
import { recordDigests, scoreRound, type ScoringState } from '../../aggregation/index.js';
import {
  deployTributary,
  startDevChain,
  type DevChain,
  type RoundContribution,
  type TributaryContracts,
} from '../../contracts/index.js';
import {
  RECORD_FORMAT,
  recordCommitment,
  roundRecordHash,
  toLedger,
  toRoundRecord,
  type RecordRound,
  type ScoringRecord,
} from './record.js';
import { modelArtifactHash } from './spec.js';
import { cli } from './test-kit.js';

let chain: DevChain;
let tc: TributaryContracts;
let dir: string;
let deployment: string;
let sponsorKey: string;
let coordinator: Wallet;
let members: Wallet[];
const E18 = 10n ** 18n;

/** Creates a bounty through the CLI and returns its id. */
async function createBounty(extra: string[] = [], budget = '900', rounds = '3'): Promise<bigint> {
  const r = await cli(
    [
      '--deployment',
      deployment,
      '--json',
      'bounty',
      'create',
      '--model',
      'linear:4x3',
      '--validation',
      join(dir, 'val.csv'),
      '--budget',
      budget,
      '--rounds',
      rounds,
      '--min-participants',
      '3',
      '--no-register',
      ...extra,
    ],
    { TRIBUTARY_KEY: sponsorKey },
  );
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return BigInt(r.json<{ bountyId: string }>().bountyId);
}

/** Scores rounds with scoreRound (carrying estimates) and records them on chain as the coordinator. */
async function recordRounds(
  id: bigint,
  rounds: RecordRound[],
  tamper?: (round: number, cs: RoundContribution[]) => void,
): Promise<ScoringRecord> {
  let est: ScoringState = { rounds: [] };
  for (const r of rounds) {
    const s = scoreRound(toRoundRecord(r), est);
    est = s.state;
    const hash = roundRecordHash(id, r);
    const contributions: RoundContribution[] = r.groups.flatMap(
      (g: RecordRound['groups'][number]) =>
        g.members.map((m) => ({
          account: m.id,
          commitment: recordCommitment(hash, m.id),
          score: s.fixedScores.get(m.id)!,
          reward: s.rewards.get(m.id)!,
        })),
    );
    tamper?.(r.round, contributions);
    await tc.bounties
      .connect(coordinator)
      .recordRound(id, r.round, keccak256(toUtf8Bytes(`model ${r.round}`)), contributions);
  }
  // As the aggregator publishes it: with the field digests it committed to.
  const published = rounds.map((r) => ({ ...r, digests: recordDigests(toLedger(id, r)) }));
  return { format: RECORD_FORMAT, bountyId: id.toString(), rounds: published };
}

/** A group aggregate's hash (the audit binds it; its value is arbitrary here). */
const SUM_HASH = '0x' + 'ab'.repeat(32);

function twoRounds(budget: bigint): RecordRound[] {
  const [a, b, c, d] = members.map((m) => m.address);
  return [
    {
      round: 1,
      budget: budget.toString(),
      metric: 'neg_loss',
      groups: [
        {
          sumHash: SUM_HASH,
          members: [
            { id: a!, weight: 30 },
            { id: b!, weight: 10 },
          ],
        },
        {
          sumHash: SUM_HASH,
          members: [
            { id: c!, weight: 20 },
            { id: d!, weight: 20 },
          ],
        },
      ],
      utilities: [0.1, 0.55, 0.4, 0.7],
    },
    {
      round: 2,
      budget: budget.toString(),
      metric: 'neg_loss',
      groups: [
        {
          sumHash: SUM_HASH,
          members: [
            { id: a!, weight: 30 },
            { id: c!, weight: 20 },
          ],
        },
        {
          sumHash: SUM_HASH,
          members: [
            { id: b!, weight: 10 },
            { id: d!, weight: 20 },
          ],
        },
      ],
      utilities: [0.7, 0.78, 0.69, 0.8],
    },
  ];
}

beforeAll(async () => {
  chain = await startDevChain({ accounts: 8 });
  dir = await mkdtemp(join(tmpdir(), 'tributary-cli-'));
  sponsorKey = chain.keys[0]!;
  coordinator = new Wallet(chain.keys[1]!, chain.provider);
  members = chain.keys.slice(2, 6).map((k) => new Wallet(k, chain.provider));
  tc = await deployTributary(new Wallet(sponsorKey, chain.provider));
  deployment = join(dir, 'deployment.json');
  await writeFile(
    deployment,
    JSON.stringify({
      rpcUrl: chain.url,
      contracts: tc.addresses,
      coordinator: coordinator.address,
    }),
  );
  await writeFile(
    join(dir, 'val.csv'),
    'a,b,c,d,label\n' +
      Array.from({ length: 30 }, (_, i) => `${i % 3},${(i * 7) % 5},${i / 10},1,${i % 3}`).join(
        '\n',
      ) +
      '\n',
  );
});

afterAll(async () => {
  await chain?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('bounty create', () => {
  it('funds the bounty in escrow and puts only hashes on chain', async () => {
    const sponsor = new Wallet(sponsorKey).address;
    const before = await tc.token.balanceOf(sponsor);
    const escrowBefore = await tc.token.balanceOf(tc.addresses.bounties);
    const r = await cli(
      [
        '--deployment',
        deployment,
        '--json',
        'bounty',
        'create',
        '--model',
        'linear:4x3',
        '--validation',
        join(dir, 'val.csv'),
        '--budget',
        '900',
        '--rounds',
        '3',
        '--min-participants',
        '3',
        '--licence',
        'open',
        '--no-register',
        '--save',
        dir,
      ],
      { TRIBUTARY_KEY: sponsorKey },
    );
    expect(r.code).toBe(0);
    const out = r.json<{
      bountyId: string;
      deposited: string;
      roundBudget: string;
      specHash: string;
      validationHash: string;
      licence: string;
    }>();
    const id = BigInt(out.bountyId);
    expect(await tc.token.balanceOf(sponsor)).toBe(before - 900n * E18);
    expect(await tc.token.balanceOf(tc.addresses.bounties)).toBe(escrowBefore + 900n * E18);
    const b = await tc.bounties.getBounty(id);
    expect(b.deposited).toBe(900n * E18);
    expect(b.roundBudget).toBe(300n * E18);
    expect(b.rounds).toBe(3);
    expect(b.coordinator).toBe(coordinator.address);
    expect(b.modelSpecHash).toBe(out.specHash);
    expect(b.validationSetHash).toBe(out.validationHash);
    expect((await tc.registry.licenceTerms(id)).kind).toBe(1);
    // The saved registration holds what the hashes commit to, and nothing of it is on chain.
    const reg = JSON.parse(await readFile(join(dir, `bounty-${id}.json`), 'utf8')) as {
      validation: string;
      spec: { prg?: string };
    };
    expect(keccak256(Buffer.from(reg.validation, 'base64'))).toBe(b.validationSetHash);
    // Without --prg, the spec names the PRG measured faster (aggregation benchmark).
    expect(reg.spec.prg).toBe('aes-128-ctr');

    const list = await cli(['--deployment', deployment, 'bounty', 'list']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(new RegExp(`^\\s*${id}\\s+open`, 'm'));
    const show = await cli(['--deployment', deployment, '--json', 'bounty', 'show', String(id)]);
    expect(show.json<{ licence: { kind: string } }>().licence.kind).toBe('open');
  });

  it('refuses a sponsor without the funds, before sending anything', async () => {
    const poor = Wallet.createRandom();
    await coordinator.sendTransaction({ to: poor.address, value: E18 });
    const r = await cli(
      [
        '--deployment',
        deployment,
        'bounty',
        'create',
        '--model',
        'linear:4x3',
        '--validation',
        join(dir, 'val.csv'),
        '--budget',
        '5',
        '--rounds',
        '1',
        '--no-register',
      ],
      { TRIBUTARY_KEY: poor.privateKey },
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[INSUFFICIENT_FUNDS\]/);
  });
});

describe('claim and audit', () => {
  let id: bigint;
  let record: ScoringRecord;

  beforeAll(async () => {
    id = await createBounty();
    for (const m of members) await tc.bounties.connect(m).join(id, 0n);
    record = await recordRounds(id, twoRounds(300n * E18));
    await writeFile(join(dir, 'record.json'), JSON.stringify(record));
  });

  it('claim pays exactly the recorded rewards, once', async () => {
    const m = members[0]!;
    const recorded = await tc.bounties.recordedRounds(id);
    const owed = recorded
      .flatMap((r) => r.contributions)
      .filter((c) => c.account === m.address)
      .reduce((s, c) => s + c.reward, 0n);
    expect(owed).toBeGreaterThan(0n);
    const before = await tc.token.balanceOf(m.address);
    const r = await cli(['--deployment', deployment, '--json', 'claim', String(id)], {
      TRIBUTARY_KEY: m.privateKey,
    });
    expect(r.code).toBe(0);
    expect(BigInt(r.json<{ claimed: string }>().claimed)).toBe(owed);
    expect(await tc.token.balanceOf(m.address)).toBe(before + owed);
    const again = await cli(['--deployment', deployment, 'claim', String(id)], {
      TRIBUTARY_KEY: m.privateKey,
    });
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/nothing to claim/);
    expect(await tc.token.balanceOf(m.address)).toBe(before + owed);
  });

  it('audit passes on an honest ledger', async () => {
    const r = await cli([
      '--deployment',
      deployment,
      '--json',
      'audit',
      String(id),
      '--record',
      join(dir, 'record.json'),
    ]);
    expect(r.code).toBe(0);
    const rep = r.json<{
      pass: boolean;
      rows: { commitment: string; pass: boolean }[];
      findings: unknown[];
    }>();
    expect(rep.findings).toEqual([]);
    expect(rep.pass).toBe(true);
    expect(rep.rows).toHaveLength(8);
    expect(rep.rows.every((x) => x.pass && x.commitment === 'bound')).toBe(true);
    const human = await cli([
      '--deployment',
      deployment,
      'audit',
      String(id),
      '--record',
      join(dir, 'record.json'),
    ]);
    expect(human.out).toMatch(/^PASS: bounty/m);
  });

  it('audit fails, naming the round and the client, when a reward on chain differs', async () => {
    const bad = await createBounty();
    for (const m of members) await tc.bounties.connect(m).join(bad, 0n);
    const victim = members[3]!.address;
    const winner = members[0]!.address;
    const rec = await recordRounds(bad, twoRounds(300n * E18), (round, cs) => {
      if (round !== 2) return;
      // One token unit moved from one contributor to another: same total, same scores, same commitments.
      cs.find((c) => c.account === victim)!.reward -= 1n;
      cs.find((c) => c.account === winner)!.reward += 1n;
    });
    await writeFile(join(dir, 'bad.json'), JSON.stringify(rec));
    const r = await cli([
      '--deployment',
      deployment,
      'audit',
      String(bad),
      '--record',
      join(dir, 'bad.json'),
    ]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`FAIL REWARD_MISMATCH: round 2, client ${victim}`));
    expect(r.out).toMatch(new RegExp(`FAIL REWARD_MISMATCH: round 2, client ${winner}`));
    expect(r.out).toMatch(/^FAIL: bounty/m);
    expect(r.err).toMatch(/^error \[AUDIT_FAILED\]/);
    const j = await cli([
      '--deployment',
      deployment,
      '--json',
      'audit',
      String(bad),
      '--record',
      join(dir, 'bad.json'),
    ]);
    expect(j.code).toBe(1);
    const rep = j.json<{
      pass: boolean;
      findings: { kind: string; round: number; client: string }[];
    }>();
    expect(rep.pass).toBe(false);
    expect(rep.findings.map((f) => [f.kind, f.round, f.client]).sort()).toEqual(
      [
        ['REWARD_MISMATCH', 2, victim],
        ['REWARD_MISMATCH', 2, winner],
      ].sort(),
    );
  });

  it('audit fails when the published record is not the one the chain committed to', async () => {
    const altered = structuredClone(record);
    altered.rounds[0]!.utilities[3] = 0.71; // a different record that happens to pay the same is still caught
    await writeFile(join(dir, 'altered.json'), JSON.stringify(altered));
    const r = await cli([
      '--deployment',
      deployment,
      '--json',
      'audit',
      String(id),
      '--record',
      join(dir, 'altered.json'),
    ]);
    expect(r.code).toBe(1);
    const found = r
      .json<{ findings: { kind: string; round: number; fields?: string[] }[] }>()
      .findings.filter((f) => f.kind === 'COMMITMENT_MISMATCH');
    expect(found.map((f) => [f.round, f.fields])).toEqual([[1, ['utilities']]]);
  });
});

describe('model download', () => {
  let id: bigint;
  let server: Server;
  let base: string;
  const files = new Map<string, Buffer>();

  beforeAll(async () => {
    id = await createBounty(['--licence', 'open']);
    const modelJson = Buffer.from(
      JSON.stringify({
        format: 'layers-model',
        modelTopology: {},
        weightsManifest: [{ paths: ['weights.bin'], weights: [] }],
      }),
    );
    const weights = Buffer.from(new Float32Array([0.5, -1, 2, 3]).buffer);
    files.set('/m/model.json', modelJson);
    files.set('/m/weights.bin', weights);
    files.set('/t/model.json', modelJson);
    const tampered = Buffer.from(weights);
    tampered[0] = tampered[0]! ^ 1;
    files.set('/t/weights.bin', tampered);
    server = createServer((req, res) => {
      const body = files.get(req.url ?? '');
      res.writeHead(body ? 200 : 404, { 'content-length': String(body?.length ?? 0) });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    await tc.registry
      .connect(coordinator)
      .publishVersion(id, 1, modelArtifactHash(modelJson, weights), `${base}/m/model.json`);
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('writes files whose hash matches the chain', async () => {
    const out = join(dir, 'dl');
    const r = await cli([
      '--deployment',
      deployment,
      '--json',
      'model',
      'download',
      String(id),
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.json<{ verified: boolean; version: string }>()).toMatchObject({
      verified: true,
      version: '1',
    });
    expect(await readFile(join(out, 'weights.bin'))).toEqual(files.get('/m/weights.bin'));
    const v = await cli(['--deployment', deployment, 'model', 'verify', String(id), out]);
    expect(v.code).toBe(0);
  });

  it('refuses a tampered file with HASH_MISMATCH and writes nothing', async () => {
    const out = join(dir, 'dl-tampered');
    const r = await cli([
      '--deployment',
      deployment,
      'model',
      'download',
      String(id),
      '--version',
      '1',
      '--from',
      `${base}/t/model.json`,
      '--out',
      out,
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[HASH_MISMATCH\]/);
    expect((await readdir(dir)).some((f) => f.startsWith('dl-tampered'))).toBe(false);
    const j = await cli([
      '--deployment',
      deployment,
      '--json',
      'model',
      'download',
      String(id),
      '--from',
      `${base}/t/model.json`,
      '--out',
      out,
    ]);
    expect(j.json<{ error: { code: string } }>().error.code).toBe('HASH_MISMATCH');
  });

  it('checks the licence on chain', async () => {
    const closed = await createBounty();
    await tc.registry
      .connect(coordinator)
      .publishVersion(
        closed,
        1,
        modelArtifactHash(files.get('/m/model.json')!, files.get('/m/weights.bin')!),
        `${base}/m/model.json`,
      );
    const anon = await cli([
      '--deployment',
      deployment,
      'model',
      'download',
      String(closed),
      '--out',
      join(dir, 'x'),
    ]);
    expect(anon.code).toBe(1);
    expect(anon.err).toMatch(/^error \[NO_LICENCE\]/);
    const stranger = await cli(
      ['--deployment', deployment, 'model', 'download', String(closed), '--out', join(dir, 'x')],
      { TRIBUTARY_KEY: Wallet.createRandom().privateKey },
    );
    expect(stranger.err).toMatch(/^error \[NO_LICENCE\]/);
    const sponsor = await cli(
      ['--deployment', deployment, 'model', 'download', String(closed), '--out', join(dir, 'y')],
      { TRIBUTARY_KEY: sponsorKey },
    );
    expect(sponsor.code).toBe(0);
  });
});

describe('a paid licence', () => {
  it('is bought on chain with --buy, then the model downloads', async () => {
    const id = await createBounty(['--licence', 'paid', '--price', '5'], '90', '1');
    // members 0-2 contribute; member 3 joins with stake 0 and earns nothing
    for (const m of members) await tc.bounties.connect(m).join(id, 0n);
    const [a, b, c] = members.map((m) => m.address);
    await recordRounds(id, [
      {
        round: 1,
        budget: (90n * E18).toString(),
        metric: 'neg_loss',
        groups: [
          {
            sumHash: SUM_HASH,
            members: [
              { id: a!, weight: 1 },
              { id: b!, weight: 1 },
              { id: c!, weight: 1 },
            ],
          },
        ],
        utilities: [0.2, 0.6],
      },
    ]);
    const modelJson = Buffer.from(
      JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['w.bin'], weights: [] }] }),
    );
    const weights = Buffer.from([1, 2, 3, 4]);
    const src = join(dir, 'paid-src');
    await rm(src, { recursive: true, force: true });
    await mkdir(src);
    await writeFile(join(src, 'model.json'), modelJson);
    await writeFile(join(src, 'w.bin'), weights);
    await tc.registry
      .connect(coordinator)
      .publishVersion(id, 1, modelArtifactHash(modelJson, weights), 'ipfs://unused');
    const buyer = Wallet.createRandom().connect(chain.provider);
    await coordinator.sendTransaction({ to: buyer.address, value: E18 });
    const env = { TRIBUTARY_KEY: buyer.privateKey };
    const args = [
      '--deployment',
      deployment,
      'model',
      'download',
      String(id),
      '--from',
      src,
      '--out',
      join(dir, 'paid'),
    ];
    const broke = await cli([...args, '--buy'], env);
    expect(broke.err).toMatch(/^error \[INSUFFICIENT_FUNDS\]/);
    await tc.token.transfer(buyer.address, 7n * E18);
    const ask = await cli(args, env);
    expect(ask.code).toBe(1);
    expect(ask.err).toMatch(/^error \[NO_LICENCE\].*5\.0 tokens: rerun with --buy/);
    const bought = await cli(['--json', ...args, '--buy'], env);
    expect(bought.code).toBe(0);
    expect(bought.json<{ licence: string }>().licence).toMatch(/^bought by/);
    expect(await tc.token.balanceOf(buyer.address)).toBe(2n * E18);
    expect(await tc.registry.hasLicence(id, buyer.address)).toBe(true);
    const again = await cli(args, env);
    expect(again.code).toBe(0);

    // joining with stake 0 licenses nothing; a rewarded contributor claims its own licence
    const joiner = await cli(args, { TRIBUTARY_KEY: members[3]!.privateKey });
    expect(joiner.err).toMatch(/^error \[NO_LICENCE\].*rerun with --buy/);
    expect(await tc.registry.hasLicence(id, members[3]!.address)).toBe(false);
    const contributor = await cli(['--json', ...args], { TRIBUTARY_KEY: members[1]!.privateKey });
    expect(contributor.err).toBe('');
    expect(contributor.json<{ licence: string }>().licence).toBe(
      `claimed by ${members[1]!.address} as a contributor (round 1, contribution 1)`,
    );
    expect(await tc.registry.hasLicence(id, members[1]!.address)).toBe(true);
    const held = await cli(['--json', ...args], { TRIBUTARY_KEY: members[1]!.privateKey });
    expect(held.json<{ licence: string }>().licence).toMatch(/^held by/);
  });
});

describe('bad input', () => {
  const noTrace = (s: string) => expect(s).not.toMatch(/\n\s+at /);

  it('an unknown bounty', async () => {
    const r = await cli(['--deployment', deployment, 'claim', '999'], {
      TRIBUTARY_KEY: members[0]!.privateKey,
    });
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'error [UNKNOWN_BOUNTY]: no bounty 999 on chain (there are ' +
        (await tc.bounties.bountyCount()) +
        ')\n',
    );
    const a = await cli(['--deployment', deployment, 'audit', '999', '--record', 'x.json']);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/UNKNOWN_BOUNTY/);
    const bad = await cli(['--deployment', deployment, 'claim', 'abc'], {
      TRIBUTARY_KEY: members[0]!.privateKey,
    });
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^error \[BAD_ARGUMENT\]/);
  });

  it('a bad key, never echoed', async () => {
    const key = 'zz' + '11'.repeat(31);
    const r = await cli(['--deployment', deployment, 'claim', '1', '--key', key]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error \[BAD_KEY\]/);
    expect(r.err + r.out).not.toContain(key);
    noTrace(r.err);
  });

  it('an encrypted keystore: right and wrong password', async () => {
    const w = Wallet.createRandom();
    const json = encryptKeystoreJsonSync(
      { address: w.address, privateKey: w.privateKey },
      'correct horse',
      { scrypt: { N: 1 << 10 } },
    );
    const file = join(dir, 'key.json');
    await writeFile(file, json);
    const ok = await cli(['wallet', 'address', '--keystore', file], {
      TRIBUTARY_KEYSTORE_PASSWORD: 'correct horse',
    });
    expect(ok.code).toBe(0);
    expect(ok.out.trim()).toBe(w.address);
    expect(ok.out + ok.err).not.toContain(w.privateKey.slice(2));
    const wrong = await cli(['wallet', 'address', '--keystore', file], {
      TRIBUTARY_KEYSTORE_PASSWORD: 'wrong',
    });
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/^error \[BAD_KEY\].*wrong password/);
  });

  it('a bad CSV, with its line and column', async () => {
    await writeFile(join(dir, 'bad.csv'), 'a,b,c,d,label\n1,2,3,4,0\n1,x,3,4,1\n');
    const r = await cli(
      [
        '--deployment',
        deployment,
        'bounty',
        'create',
        '--model',
        'linear:4x3',
        '--validation',
        join(dir, 'bad.csv'),
        '--budget',
        '1',
        '--rounds',
        '1',
        '--no-register',
      ],
      { TRIBUTARY_KEY: sponsorKey },
    );
    expect(r.code).toBe(2);
    expect(r.err).toBe('error [CSV_BAD_VALUE]: line 3, column b: "x" is not a number\n');
    const j = await cli(
      [
        '--deployment',
        deployment,
        '--json',
        'bounty',
        'create',
        '--model',
        'linear:4x3',
        '--validation',
        join(dir, 'bad.csv'),
        '--budget',
        '1',
        '--rounds',
        '1',
        '--no-register',
      ],
      { TRIBUTARY_KEY: sponsorKey },
    );
    expect(j.json()).toEqual({
      error: {
        code: 'CSV_BAD_VALUE',
        message: 'line 3, column b: "x" is not a number',
        row: 3,
        column: 'b',
      },
    });
  });

  it('an unknown --prg, before anything is sent', async () => {
    const count = await tc.bounties.bountyCount();
    const r = await cli(
      [
        '--deployment',
        deployment,
        'bounty',
        'create',
        '--model',
        'linear:4x3',
        '--validation',
        join(dir, 'val.csv'),
        '--budget',
        '1',
        '--rounds',
        '1',
        '--prg',
        'aes-256-ctr',
        '--no-register',
      ],
      { TRIBUTARY_KEY: sponsorKey },
    );
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'error [BAD_ARGUMENT]: --prg must be aes-128-ctr or chacha20, got aes-256-ctr\n',
    );
    expect(await tc.bounties.bountyCount()).toBe(count);
  });

  it('a validation set that does not fit the model', async () => {
    const r = await cli(
      [
        '--deployment',
        deployment,
        'bounty',
        'create',
        '--model',
        'linear:5x3',
        '--validation',
        join(dir, 'val.csv'),
        '--budget',
        '1',
        '--rounds',
        '1',
        '--no-register',
      ],
      { TRIBUTARY_KEY: sponsorKey },
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error \[DATA_SHAPE\]/);
  });

  it('usage errors and missing configuration', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['bounty', 'create'])).code).toBe(2);
    const r = await cli(['bounty', 'list']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error \[NO_DEPLOYMENT\]/);
    const down = await cli([
      '--rpc',
      'http://127.0.0.1:9',
      '--contracts',
      JSON.stringify(tc.addresses),
      'bounty',
      'list',
    ]);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/^error \[CHAIN_UNREACHABLE\]/);
  });
});

describe('deploy', () => {
  it('writes the chain, the contracts and the aggregator it was given; commands reading the file use that aggregator', async () => {
    // A stand-in aggregator that only records what it is asked (the CLI is what is tested here).
    const asked: string[] = [];
    const agg = createServer((req, res) => {
      asked.push(`${req.method} ${req.url}`);
      res.setHeader('content-type', 'application/json');
      res.end('[]');
    });
    await new Promise<void>((r) => agg.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(agg.address() as { port: number }).port}`;
    try {
      const out = join(dir, 'deployed.json');
      const r = await cli(
        ['deploy', '--out', out, '--server', `${url}/`, '--coordinator', coordinator.address],
        { TRIBUTARY_KEY: sponsorKey, CHAIN_RPC_URL: chain.url },
      );
      expect(r.code).toBe(0);
      const dep = JSON.parse(await readFile(out, 'utf8')) as {
        server: string;
        rpcUrl: string;
        chainId: number;
        contracts: Record<string, string>;
        coordinator: string;
      };
      expect(dep).toMatchObject({
        server: url,
        rpcUrl: chain.url,
        chainId: 31337,
        coordinator: coordinator.address,
      });
      expect(Object.keys(dep.contracts).sort()).toEqual(['bounties', 'registry', 'token']);
      // Fresh contracts: no bounty, but the listing asks the file's aggregator for its own.
      const list = await cli(['--deployment', out, '--json', 'bounty', 'list']);
      expect(list.code).toBe(0);
      expect(list.json()).toEqual([]);
      expect(asked).toEqual(['GET /bounties']);
    } finally {
      agg.close();
    }
  });
});
