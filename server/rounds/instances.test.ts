/**
 * Two serving instances and a settlement worker on one database and one Redis: half the agents
 * connect to each serving instance (both work the `rounds` lane, so stage closes land on either),
 * the third instance works only the `settlement` lane. Every round completes with the exact
 * weighted mean, each is recorded on chain exactly once, and rewards reach agents on both
 * instances. An agent that leaves after answering a stage is dropped at the next one after the
 * grace period, not at that stage's deadline. An `open-round` job lost with Redis's data leaves
 * a bounty idle until the sweep of the instance its agents are connected to asks again.
 */
import { Wallet } from 'ethers';
import { Redis } from 'ioredis';
import { In } from 'typeorm';
import { ProtocolAgent, type AgentEvent } from '../../client-agent/protocol/index.js';
import { startServer, type RunningServer } from '../app.js';
import type { Chain } from '../chain/chain.service.js';
import type { ServerConfig } from '../config.js';
import { dropSchema } from '../db/datasource.js';
import { ModelVersion, Round, RoundGroup } from '../db/entities.js';
import { RecoveryService } from './recovery.js';
import { RoundsService } from './rounds.service.js';
import {
  denseSpec,
  joinOnChain,
  sponsorBounty,
  startTestChain,
  syntheticTask,
  testConfig,
  waitFor,
} from '../test/harness.js';

const INPUTS = 12;
const CLASSES = 3;
const PARAMS = INPUTS * CLASSES + CLASSES;
const AGENTS = 8;
const ROUNDS = 3;

describe('two aggregator instances and a settlement worker', () => {
  let chain: Chain;
  const servers: RunningServer[] = [];
  const agents: ProtocolAgent[] = [];
  const errors: AgentEvent[] = [];

  /** An aggregator instance in this process, closed after the tests. */
  const startInstance = async (config: ServerConfig) => {
    const s = await startServer(config, {
      chain,
      logger: process.env.TEST_LOG ? undefined : ['error'],
    });
    servers.push(s);
    return s;
  };

  /** A one-round, one-group bounty that opens with `members` agents online. */
  const oneRoundBounty = async (server: RunningServer, members: number, seed: number) =>
    (
      await sponsorBounty(server, chain, {
        sponsorKey: chain.keys![1]!,
        spec: denseSpec(INPUTS, CLASSES, { minParticipants: members, maxGroups: 1 }),
        weights: new Float32Array(PARAMS),
        validation: syntheticTask(INPUTS, CLASSES, 100, seed),
        budget: 1_000_000n,
        rounds: 1,
        minParticipants: 3,
      })
    ).bountyId;

  afterAll(async () => {
    for (const a of agents) a.stop();
    for (const s of servers.reverse()) await s.close();
    if (servers[0]) await dropSchema(servers[0].config.databaseUrl!, servers[0].config.dbSchema);
    await chain?.stop!();
  });

  it('rounds complete across instances and each settles exactly once', async () => {
    chain = await startTestChain();
    // Confirm and unmask deadlines far beyond the test's waits: a stage that closes did so early.
    const base = testConfig({
      stageTimeoutsMs: { keys: 5000, shares: 5000, masked: 20000, confirm: 90_000, unmask: 90_000 },
      dropoutGraceMs: 500,
    });
    // One after another: the first runs the migrations.
    for (const lanes of ['rounds', 'rounds', 'settlement'] as const)
      await startInstance({ ...base, lanes });
    const [a, b] = servers as [RunningServer, RunningServer, RunningServer];
    const { bountyId } = await sponsorBounty(a, chain, {
      sponsorKey: chain.keys![1]!,
      spec: denseSpec(INPUTS, CLASSES, { minParticipants: AGENTS, maxGroups: 2 }),
      weights: new Float32Array(PARAMS),
      validation: syntheticTask(INPUTS, CLASSES, 100, 5),
      budget: 3_000_000n,
      rounds: ROUNDS,
      minParticipants: 3,
    });
    const served = new Map<string, RunningServer>();
    for (let i = 0; i < AGENTS; i++) {
      const wallet = await joinOnChain(chain, chain.keys![2 + i]!, bountyId);
      const server = i % 2 === 0 ? a : b;
      served.set(wallet.address, server);
      const agent = new ProtocolAgent({
        serverUrl: server.url,
        wallet: wallet as unknown as Wallet,
        bountyId,
        reconnect: false,
        // Agent i sends 0.01 * (i + 1) everywhere with i + 1 samples.
        train: async () => ({
          delta: new Float32Array(PARAMS).fill(0.01 * (i + 1)),
          samples: i + 1,
        }),
        onEvent: (e) => {
          if (e.type === 'error') errors.push(e);
        },
      });
      agents.push(agent);
      await agent.start();
    }
    const settled = async () =>
      (await a.ds.getRepository(Round).countBy({ bountyId, state: 'settled' })) === ROUNDS;
    await waitFor(settled, 50_000);
    expect(errors).toEqual([]);

    // Exactly once on chain: one RoundRecorded per round, rounds 1..ROUNDS.
    const recorded = await chain.contracts.bounties.recordedRounds(BigInt(bountyId));
    expect(recorded.map((r) => Number(r.round)).sort()).toEqual([1, 2, 3]);
    for (const r of recorded) expect(r.contributions).toHaveLength(AGENTS);

    // Every round summed everyone's update exactly: the sample-weighted mean of 0.01 * (i + 1).
    const weightSum = (AGENTS * (AGENTS + 1)) / 2;
    let mean = 0;
    for (let i = 0; i < AGENTS; i++) mean += (0.01 * (i + 1) * (i + 1)) / weightSum;
    const last = await a.ds
      .getRepository(ModelVersion)
      .findOneByOrFail({ bountyId, version: ROUNDS });
    const w = new Float32Array(new Uint8Array(last.weights).buffer);
    expect(w[0]).toBeCloseTo(ROUNDS * mean, 3);

    // The settlement worker's reward events reach agents on both serving instances.
    await waitFor(async () => agents.every((x) => x.rewards.length === ROUNDS), 10_000);
    expect(new Set(agents.map((x) => served.get(x.address)))).toEqual(new Set([a, b]));

    // Neither serving instance keeps group state of finished rounds, whichever closed them.
    const lastRound = await a.ds.getRepository(Round).findOneByOrFail({ bountyId, number: ROUNDS });
    const lastGroups = new Set(
      (await a.ds.getRepository(RoundGroup).findBy({ roundId: lastRound.id })).map((g) => g.id),
    );
    for (const s of [a, b]) {
      for (const id of s.app.get(RoundsService).sessions.groups()) expect(lastGroups).toContain(id);
    }
  });

  it('an agent gone after answering the masked stage is dropped at confirm, not at its deadline', async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    const bountyId = await oneRoundBounty(a, 6, 6);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let leaverSent!: () => void;
    const leaverDone = new Promise<void>((r) => (leaverSent = r));
    const here: ProtocolAgent[] = [];
    const live: AgentEvent[] = [];
    for (let i = 0; i < 6; i++) {
      const wallet = await joinOnChain(chain, chain.keys![2 + AGENTS + i]!, bountyId);
      const leaver = i === 0;
      const agent: ProtocolAgent = new ProtocolAgent({
        serverUrl: (i % 2 === 0 ? a : b).url,
        wallet: wallet as unknown as Wallet,
        bountyId,
        reconnect: false,
        // The others train until the leaver has been gone longer than the grace period.
        train: async () => {
          if (!leaver) await gate;
          return { delta: new Float32Array(PARAMS).fill(leaver ? 0.04 : 0.01), samples: 1 };
        },
        onEvent: (e) => {
          if (leaver && e.type === 'sent' && e.stage === 'masked') {
            agent.stop();
            leaverSent();
          } else if (!leaver && e.type === 'error') live.push(e);
        },
      });
      here.push(agent);
      agents.push(agent);
      await agent.start();
    }
    await leaverDone;
    // Its disconnect's check finds it owing nothing (masked answered, the stage still open).
    await new Promise((r) => setTimeout(r, 1500));
    release();
    await waitFor(
      async () =>
        ['aggregated', 'scored', 'settled'].includes(
          (await a.ds.getRepository(Round).findOneByOrFail({ bountyId, number: 1 })).state,
        ),
      30_000,
    );
    const round = await a.ds.getRepository(Round).findOneByOrFail({ bountyId, number: 1 });
    const [gone] = (await a.ds.query(
      `SELECT progress FROM participant WHERE round_id = $1 AND address = $2`,
      [round.id, here[0]!.address],
    )) as { progress: string }[];
    expect(gone!.progress).toBe('dropped');
    expect(live).toEqual([]);
    // Its masked input stays in the sum (the others reveal its mask): (0.04 + 5 * 0.01) / 6.
    const v1 = await a.ds.getRepository(ModelVersion).findOneByOrFail({ bountyId, version: 1 });
    expect(new Float32Array(new Uint8Array(v1.weights).buffer)[0]).toBeCloseTo(0.015, 3);
  });

  it('an open-round job lost with Redis: no round opens until the sweep of the agents’ instance asks again', async () => {
    // Agents on an instance that works no lane (its jobs are for the others); the bounty's
    // open-round job is then lost with Redis's data before any worker saw it.
    const quiet = { sweepMs: 3_600_000 }; // the sweeps below are called, not timed
    const base = { ...servers[0]!.config, ...quiet };
    const front = await startInstance({ ...base, lanes: 'none' });
    // Settlement sends with the coordinator's key, which funds sponsors here too: let the
    // previous test's round settle first, or the two race for one nonce.
    await waitFor(
      async () =>
        (await front.ds.getRepository(Round).countBy({ state: In(['aggregated', 'scored']) })) ===
        0,
      30_000,
    );
    const bountyId = await oneRoundBounty(front, 3, 7);
    const redis = new Redis(base.redisUrl!);
    const queued = async () =>
      (await redis.keys(`${base.redisPrefix}:*`)).filter((k) => k.includes(`open-${bountyId}-`));
    for (let i = 0; i < 3; i++) {
      const wallet = await joinOnChain(chain, chain.keys![2 + AGENTS + 6 + i]!, bountyId);
      const agent = new ProtocolAgent({
        serverUrl: front.url,
        wallet: wallet as unknown as Wallet,
        bountyId,
        reconnect: false,
        train: async () => ({ delta: new Float32Array(PARAMS).fill(0.02), samples: 1 }),
      });
      agents.push(agent);
      await agent.start();
    }
    await waitFor(async () => (await queued()).length > 0, 10_000);
    // Lost: every key of this deployment's queue goes (as when Redis restarts empty).
    const keys = await redis.keys(`${base.redisPrefix}:*`);
    if (keys.length) await redis.del(...keys);
    expect(await queued()).toEqual([]);
    // A worker instance comes up. Its own sweep finds no agent of the bounty connected to it.
    await startInstance({ ...base, lanes: 'all' });
    const rounds = () => front.ds.getRepository(Round).countBy({ bountyId });
    expect(await rounds()).toBe(0);
    expect(await queued()).toEqual([]);
    // The sweep of the instance the agents are on enqueues it again; the worker opens the round.
    await front.app.get(RecoveryService).sweep();
    await waitFor(
      async () =>
        (await front.ds.getRepository(Round).countBy({ bountyId, state: 'settled' })) === 1,
      30_000,
    );
    expect(await rounds()).toBe(1);
    redis.disconnect();
  });
});
