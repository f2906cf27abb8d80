/**
 * Two serving instances and a settlement worker on one database and one Redis: half the agents
 * connect to each serving instance (both work the `rounds` lane, so stage closes land on either),
 * the third instance works only the `settlement` lane. Every round completes with the exact
 * weighted mean, each is recorded on chain exactly once, and rewards reach agents on both
 * instances.
 */
import { Wallet } from 'ethers';
import { ProtocolAgent, type AgentEvent } from '../../client-agent/protocol/index.js';
import { startServer, type RunningServer } from '../app.js';
import type { Chain } from '../chain/chain.service.js';
import type { ServerConfig } from '../config.js';
import { dropSchema } from '../db/datasource.js';
import { ModelVersion, Round, RoundGroup } from '../db/entities.js';
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

  afterAll(async () => {
    for (const a of agents) a.stop();
    for (const s of servers.reverse()) await s.close();
    if (servers[0]) await dropSchema(servers[0].config.databaseUrl!, servers[0].config.dbSchema);
    await chain?.stop!();
  });

  it('rounds complete across instances and each settles exactly once', async () => {
    chain = await startTestChain();
    const base = testConfig();
    const logger = process.env.TEST_LOG ? undefined : (['error'] as const);
    const start = (lanes: ServerConfig['lanes']) =>
      startServer({ ...base, lanes }, { chain, logger: logger ? [...logger] : undefined });
    // One after another: the first runs the migrations.
    for (const lanes of ['rounds', 'rounds', 'settlement'] as const)
      servers.push(await start(lanes));
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
});
