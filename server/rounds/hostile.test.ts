/**
 * Threat model, a hostile participant (docs/threat-model.md): one data owner out of six breaks the protocol
 * in a different way each round, through the real client over Socket.IO, against a real
 * PostgreSQL, Redis and anvil. Every round still finishes and settles; the attacker's group is
 * left out with a recorded reason when its sum is impossible, or the attacker is outvoted and named
 * when its unmask shares are garbage; the model moves only by the honest group.
 */
import { auditBounty } from '../../client-agent/cli/audit.js';
import {
  ScoringRecord,
  ServerRounds,
  recordFromServerRounds,
} from '../../client-agent/cli/record.js';
import { ProtocolAgent } from '../../client-agent/protocol/index.js';
import { HostileAgent, type Attack } from '../../test/adversary/hostile-agent.js';
import type { RunningServer } from '../app.js';
import type { Chain } from '../chain/chain.service.js';
import { ModelVersion, Participant, Round, RoundGroup } from '../db/entities.js';
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

const INPUTS = 8;
const CLASSES = 2;
const PARAMS = INPUTS * CLASSES + CLASSES;
const PLAN: Attack[] = [
  'extreme-words',
  'undeclared-weight',
  'garbage-unmask-shares',
  'garbage-share-ciphertexts',
];

describe('one hostile participant cannot ruin a round or its pay', () => {
  let chain: Chain;
  let server: RunningServer;
  const agents: ProtocolAgent[] = [];
  let bountyId: number;
  let attacker = '';
  const deltas = new Map<string, Float32Array>();

  beforeAll(async () => {
    chain = await startTestChain();
    server = await startTestServer(chain);
    ({ bountyId } = await sponsorBounty(server, chain, {
      sponsorKey: chain.keys![1]!,
      spec: denseSpec(INPUTS, CLASSES, { maxGroups: 2, weightCap: 100, clip: 1 }),
      weights: new Float32Array(PARAMS),
      validation: syntheticTask(INPUTS, CLASSES, 200, 3),
      budget: 3_000_000n,
      rounds: PLAN.length,
      minParticipants: 6,
    }));
    for (let i = 0; i < 6; i++) {
      const wallet = await joinOnChain(chain, chain.keys![2 + i]!, bountyId);
      // A useful update: the kernel leans towards the task's class blocks (syntheticTask).
      const delta = Float32Array.from({ length: PARAMS }, (_, k) => {
        if (k >= INPUTS * CLASSES) return 0;
        const [j, c] = [Math.floor(k / CLASSES), k % CLASSES];
        return Math.floor(j / (INPUTS / CLASSES)) === c ? 0.02 * (i + 1) : 0;
      });
      deltas.set(wallet.address, delta);
      const opts = {
        serverUrl: server.url,
        wallet,
        bountyId,
        reconnect: false,
        train: async () => ({ delta, samples: 10 }),
      };
      const agent =
        i === 0 ? new HostileAgent(opts, (n) => PLAN[n - 1] ?? 'honest') : new ProtocolAgent(opts);
      if (i === 0) attacker = agent.address;
      agents.push(agent);
    }
    for (const a of agents) await a.start();
    await waitFor(async () => {
      const rounds = await server.ds.getRepository(Round).findBy({ bountyId });
      return rounds.filter((r) => r.state === 'settled').length >= PLAN.length;
    }, 100_000);
  });
  afterAll(async () => {
    for (const a of agents) a.stop();
    await stopTestServer(server);
    await chain.stop!();
  });

  async function roundView(number: number) {
    const round = await server.ds.getRepository(Round).findOneByOrFail({ bountyId, number });
    const groups = await server.ds
      .getRepository(RoundGroup)
      .find({ where: { roundId: round.id }, order: { index: 'ASC' } });
    const hostile = groups.find((g) => g.members.includes(attacker))!;
    const honest = groups.find((g) => g !== hostile)!;
    const parts = await server.ds.getRepository(Participant).findBy({ roundId: round.id });
    const paid = new Map(parts.map((p) => [p.address, BigInt(p.reward ?? '0')]));
    const before = await server.ds
      .getRepository(ModelVersion)
      .findOneByOrFail({ bountyId, version: round.modelVersion });
    const after = await server.ds
      .getRepository(ModelVersion)
      .findOneByOrFail({ bountyId, version: round.modelVersion + 1 });
    const w = (v: ModelVersion) => new Float32Array(new Uint8Array(v.weights).buffer.slice(0));
    return { round, hostile, honest, paid, before: w(before), after: w(after) };
  }

  /** The model moved by the honest group's mean alone (all weights 10: the plain mean). */
  function expectHonestStep(v: Awaited<ReturnType<typeof roundView>>) {
    for (let k = 0; k < PARAMS; k++) {
      let mean = 0;
      for (const m of v.honest.members) mean += deltas.get(m)![k]! / v.honest.members.length;
      expect(v.after[k]! - v.before[k]!).toBeCloseTo(mean, 4);
    }
  }

  it('extreme words: the impossible group sum is left out with its reason, the round settles', async () => {
    const v = await roundView(1);
    expect(v.round.state).toBe('settled');
    expect(v.round.quant.maxWeight).toBe(100); // the bounty's weight cap
    expect(v.hostile.state).toBe('dropped');
    expect(v.hostile.dropReason).toMatch(/^OUT_OF_BOUNDS: .*L2 norm/);
    expect(v.honest.state).toBe('aggregated');
    expectHonestStep(v);
    expect(Math.max(...v.after.map(Math.abs))).toBeLessThan(1);
    for (const m of v.honest.members) expect(v.paid.get(m)! > 0n).toBe(true);
    expect(v.paid.get(attacker) ?? 0n).toBe(0n);
  });

  it('a weight word other than the declared samples: the group is left out', async () => {
    const v = await roundView(2);
    expect(v.round.state).toBe('settled');
    expect(v.hostile.state).toBe('dropped');
    expect(v.hostile.dropReason).toMatch(/^OUT_OF_BOUNDS: weight word \d+ differs/);
    expectHonestStep(v);
    for (const m of v.honest.members) expect(v.paid.get(m)! > 0n).toBe(true);
  });

  it('garbage unmask shares are outvoted: the group sums, and the attacker is named', async () => {
    const v = await roundView(3);
    expect(v.round.state).toBe('settled');
    expect(v.hostile.state).toBe('aggregated');
    expect(v.honest.state).toBe('aggregated');
    expect(new Set(v.hostile.offenders.map((o) => o.holder))).toEqual(new Set([attacker]));
    expect(v.honest.offenders).toEqual([]);
    // Outvoted, and paid nothing for the round it broke; the others split the budget.
    expect(v.paid.get(attacker)).toBe(0n);
    const budget = (await chain.contracts.bounties.getBounty(BigInt(bountyId))).roundBudget;
    expect([...v.paid.values()].reduce((a, b) => a + b, 0n)).toBe(budget);
  });

  it('garbage share ciphertexts: the peers complain, the sender is left out, the group sums', async () => {
    const v = await roundView(4);
    expect(v.round.state).toBe('settled');
    expect(v.hostile.state).toBe('aggregated');
    expect(v.hostile.survivors).not.toContain(attacker);
    expect(v.hostile.survivors).toHaveLength(v.hostile.members.length - 1);
    expect(v.hostile.offenders).toEqual([{ holder: attacker, secret: 'shares-rejected' }]);
    // The model moved by the mean of every honest member of both groups (all weights 10).
    const honest = [...v.honest.members, ...v.hostile.survivors];
    for (let k = 0; k < PARAMS; k++) {
      let mean = 0;
      for (const m of honest) mean += deltas.get(m)![k]! / honest.length;
      expect(v.after[k]! - v.before[k]!).toBeCloseTo(mean, 4);
    }
    // The whole round budget goes to honest members (the estimates decide how), none to it.
    const budget = (await chain.contracts.bounties.getBounty(BigInt(bountyId))).roundBudget;
    expect(honest.reduce((a, m) => a + (v.paid.get(m) ?? 0n), 0n)).toBe(budget);
    expect(v.paid.get(attacker) ?? 0n).toBe(0n);
    const [{ n }] = (await server.ds.query(
      // Retention: keys, shares, masked inputs, complaints and unmask shares of every round are
      // gone once it is summed (or dropped); only group sums remain.
      `SELECT count(*)::int AS n FROM stage_message`,
    )) as { n: number }[];
    expect(n).toBe(0);
  });

  it('the audit of the published record against the chain passes, left-out groups included', async () => {
    const listing = ServerRounds.parse(
      await (await fetch(`${server.url}/bounties/${bountyId}/rounds`)).json(),
    );
    const record = ScoringRecord.parse(recordFromServerRounds(BigInt(bountyId), listing));
    expect(record.rounds.map((r) => r.rejected.length)).toEqual([1, 1, 0, 1]);
    expect(record.rounds[3]!.rejected[0]!.reason).toMatch(/^EXCLUDED/);
    const chainRounds = await chain.contracts.bounties.recordedRounds(BigInt(bountyId));
    const { roundBudget } = await chain.contracts.bounties.getBounty(BigInt(bountyId));
    const rep = auditBounty(BigInt(bountyId), roundBudget, chainRounds, record);
    expect(rep.findings).toEqual([]);
    expect(rep.contributions).toBe(24);
    expect(rep.rows.filter((r) => r.group === null && r.rewardOnChain === 0n)).toHaveLength(7);
  });
});
