/**
 * Robustness benchmark: one hostile data owner among honest ones, on the whole stack (aggregator
 * with PostgreSQL, Redis, BullMQ and anvil; nine agents over Socket.IO, each training a linear
 * tfjs classifier on its own 300 Fashion-MNIST images; the sponsor's validation set and the
 * held-out test set are 500 and 2 000 other images). Every scenario is a bounty of its own with the same
 * agents, data, seeds and rounds; only the hostile agent's behaviour differs:
 *
 *   honest           the same agent plays fair (the baseline of every ratio)
 *   extreme-words    masked input of 0x7fffffff words, weight word 1, declared 1 sample
 *   undeclared-weight  the round's largest weight encoded, 1 sample declared
 *   garbage-unmask   random unmask shares (right x coordinate)
 *   garbage-ciphertexts  random bytes instead of its boxed shares at stage 2
 *
 * Figures:
 * - model_shift_hostile_vs_honest: L2 distance the model moves in round 1 with the extreme-words
 *   attacker / in round 1 of the honest run (target <= 1.5).
 * - rounds_settled_with_garbage_shares / rounds_total: rounds settled on chain over both garbage
 *   scenarios / rounds they ran (target equal); per kind as well.
 * - honest_paid_with_garbage_shares: share of honest (member, round) pairs paid > 0 in the garbage
 *   scenarios (target 1.0); honest_paid_share_honest_run is the same share without an attacker
 *   (scoring pays nothing for a non-positive estimate, attack or not), and
 *   honest_summed_with_garbage_shares the share of honest pairs whose update was in the sum.
 * - attacker_reward_share: tokens paid to the attacker / tokens paid, over all attack scenarios
 *   (target 0).
 * - accuracy_drop_pp_one_attacker: final validation accuracy of the honest run minus that of the
 *   extreme-words run, in percentage points (target <= 1.0).
 */
import {
  buildModel,
  initialWeights,
  linearArchitecture,
  loadFashionMnist,
  makeDataset,
  slice,
  Trainer,
  type Dataset,
} from '../../client-agent/index.js';
import { ProtocolAgent } from '../../client-agent/protocol/index.js';
import { ensureBackend } from '../../client-agent/cli/spec.js';
import type { RunningServer } from '../../server/app.js';
import type { Chain } from '../../server/chain/chain.service.js';
import { ModelVersion, Participant, Round, RoundGroup } from '../../server/db/entities.js';
import {
  denseSpec,
  joinOnChain,
  sponsorBounty,
  startTestChain,
  startTestServer,
  stopTestServer,
} from '../../server/test/harness.js';
import { HostileAgent, type Attack } from '../adversary/hostile-agent.js';
import type { BenchOptions, BenchResult } from './run.js';

const INPUTS = 784;
const CLASSES = 10;
const PARAMS = INPUTS * CLASSES + CLASSES;
const PER_AGENT = 300;
const AGENTS = 9;
const SCENARIOS: Attack[] = [
  'honest',
  'extreme-words',
  'undeclared-weight',
  'garbage-unmask-shares',
  'garbage-share-ciphertexts',
];

interface Outcome {
  attack: Attack;
  rounds: number;
  settled: number;
  shift1: number;
  accuracy: number;
  honestPaid: number;
  honestSeen: number;
  honestSummed: number;
  attackerPaid: bigint;
  totalPaid: bigint;
}

interface Task {
  shards: Dataset[];
  validation: Dataset;
  test: Dataset;
  spec: ReturnType<typeof denseSpec>;
  w0: Float32Array;
}

async function waitFor(pred: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

async function scenario(
  chain: Chain,
  server: RunningServer,
  keys: string[],
  attack: Attack,
  rounds: number,
  trainer: Trainer,
  task: Task,
): Promise<Outcome> {
  const { spec, test } = task;
  const { bountyId } = await sponsorBounty(server, chain, {
    sponsorKey: chain.keys![1]!,
    spec,
    weights: task.w0,
    validation: {
      shape: [INPUTS],
      classes: CLASSES,
      x: task.validation.x,
      y: task.validation.y,
    },
    budget: 1_000_000n * BigInt(rounds),
    rounds,
    minParticipants: AGENTS,
  });
  const agents: ProtocolAgent[] = [];
  let attacker = '';
  // One tfjs model serves every agent of this process: their training calls take turns.
  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(f: () => Promise<T>): Promise<T> => {
    const next = turn.then(f, f);
    turn = next.catch(() => undefined);
    return next;
  };
  for (let i = 0; i < AGENTS; i++) {
    const wallet = await joinOnChain(chain, keys[i]!, bountyId);
    const data = task.shards[i]!;
    const opts = {
      serverUrl: server.url,
      wallet,
      bountyId,
      reconnect: false,
      spec,
      train: async ({ weights, round }: { weights: Float32Array; round: { round: number } }) => {
        const r = await inTurn(() =>
          trainer.train(
            weights,
            data,
            { localEpochs: 1, batchSize: 32, learningRate: 0.1, fedProxMu: 0 },
            7919 * i + round.round,
          ),
        );
        return { delta: r.delta, samples: r.numSamples };
      },
    };
    const agent = i === 0 ? new HostileAgent(opts, () => attack) : new ProtocolAgent(opts);
    if (i === 0) attacker = agent.address;
    agents.push(agent);
  }
  try {
    for (const a of agents) await a.start();
    const repo = server.ds.getRepository(Round);
    // The first `rounds` rounds of the bounty, each ended settled or aborted (an aborted round
    // is followed by another, so a bounty may run more; those are not counted).
    const ended = () =>
      repo.findBy({ bountyId }).then((rs) => {
        const first = rs.filter((r) => r.number <= rounds);
        return (
          first.length === rounds && first.every((r) => ['settled', 'aborted'].includes(r.state))
        );
      });
    await waitFor(ended, 60_000 * rounds);
  } finally {
    for (const a of agents) a.stop();
  }
  const all = (
    await server.ds.getRepository(Round).find({ where: { bountyId }, order: { number: 'ASC' } })
  ).filter((r) => r.number <= rounds);
  const settled = all.filter((r) => r.state === 'settled');
  const parts = await server.ds
    .getRepository(Participant)
    .createQueryBuilder('p')
    .where('p.round_id IN (:...ids)', { ids: settled.length ? settled.map((r) => r.id) : [-1] })
    .getMany();
  const versions = await server.ds
    .getRepository(ModelVersion)
    .find({ where: { bountyId }, order: { version: 'ASC' } });
  const w = (v: ModelVersion) => new Float32Array(new Uint8Array(v.weights).buffer.slice(0));
  const v0 = w(versions[0]!);
  const v1 = versions[1] ? w(versions[1]) : v0;
  let d = 0;
  for (let k = 0; k < PARAMS; k++) d += (v1[k]! - v0[k]!) ** 2;
  const last = w(versions[versions.length - 1]!);
  const honest = parts.filter((p) => p.address !== attacker);
  const groups = await server.ds
    .getRepository(RoundGroup)
    .createQueryBuilder('g')
    .where('g.round_id IN (:...ids)', { ids: settled.length ? settled.map((r) => r.id) : [-1] })
    .getMany();
  const summed = new Set(
    groups
      .filter((g) => g.state === 'aggregated')
      .flatMap((g) => g.survivors.map((a) => `${g.roundId}:${a}`)),
  );
  return {
    attack,
    rounds: all.length,
    settled: settled.length,
    shift1: Math.sqrt(d),
    accuracy: trainer.evaluate(last, test).accuracy,
    honestPaid: honest.filter((p) => BigInt(p.reward ?? '0') > 0n).length,
    honestSeen: honest.length,
    honestSummed: honest.filter((p) => summed.has(`${p.roundId}:${p.address}`)).length,
    attackerPaid: parts
      .filter((p) => p.address === attacker)
      .reduce((s, p) => s + BigInt(p.reward ?? '0'), 0n),
    totalPaid: parts.reduce((s, p) => s + BigInt(p.reward ?? '0'), 0n),
  };
}

export async function run({ quick }: BenchOptions): Promise<BenchResult> {
  const rounds = quick ? 2 : 4;
  await ensureBackend();
  const { train, test: t10k } = await loadFashionMnist({
    trainLimit: AGENTS * PER_AGENT,
    testLimit: 2500,
  });
  const flat = makeDataset(train.x, train.y, [INPUTS], CLASSES);
  const flatTest = makeDataset(t10k.x, t10k.y, [INPUTS], CLASSES);
  const arch = linearArchitecture(INPUTS, CLASSES);
  const model = await buildModel(arch);
  const spec = denseSpec(INPUTS, CLASSES, {
    modelTopology: arch,
    weightSpecs: model.weights.map((w) => ({
      name: w.originalName,
      shape: w.shape as number[],
      dtype: 'float32' as const,
    })),
    maxGroups: 3,
    minParticipants: AGENTS,
    clip: 5,
    weightCap: 1000,
    train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
  });
  const task: Task = {
    shards: Array.from({ length: AGENTS }, (_, i) =>
      slice(flat, i * PER_AGENT, (i + 1) * PER_AGENT),
    ),
    validation: slice(flatTest, 0, 500),
    test: slice(flatTest, 500, 2500),
    spec,
    w0: initialWeights(model, 1),
  };
  model.dispose();
  const trainer = await Trainer.create(arch);
  const chain = await startTestChain(AGENTS * SCENARIOS.length + 4);
  const server = await startTestServer(chain, {
    stageTimeoutsMs: { keys: 5000, shares: 5000, masked: 15000, unmask: 5000 },
  });
  const out: Outcome[] = [];
  try {
    for (const [s, attack] of SCENARIOS.entries()) {
      const keys = chain.keys!.slice(2 + s * AGENTS, 2 + (s + 1) * AGENTS);
      const o = await scenario(chain, server, keys, attack, rounds, trainer, task);
      console.log(
        `${attack}: ${o.settled}/${o.rounds} rounds settled, shift ${o.shift1.toFixed(4)}, accuracy ${(100 * o.accuracy).toFixed(1)} %, honest paid ${o.honestPaid}/${o.honestSeen}, summed ${o.honestSummed}/${o.honestSeen}`,
      );
      out.push(o);
    }
  } finally {
    trainer.dispose();
    await stopTestServer(server);
    await chain.stop!();
  }
  const by = (a: Attack) => out.find((o) => o.attack === a)!;
  const honest = by('honest');
  const garbage = [by('garbage-unmask-shares'), by('garbage-share-ciphertexts')];
  const attacks = out.filter((o) => o.attack !== 'honest');
  const paidShare = (o: Outcome) => (o.honestSeen ? o.honestPaid / o.honestSeen : 0);
  const garbagePaid = garbage.reduce((s, o) => s + o.honestPaid, 0);
  const garbageSeen = garbage.reduce((s, o) => s + o.honestSeen, 0);
  const attackerPaid = attacks.reduce((s, o) => s + o.attackerPaid, 0n);
  const totalPaid = attacks.reduce((s, o) => s + o.totalPaid, 0n);
  return {
    agents: AGENTS,
    rounds_per_scenario: rounds,
    model_shift_hostile_vs_honest: by('extreme-words').shift1 / honest.shift1,
    model_shift_undeclared_weight_vs_honest: by('undeclared-weight').shift1 / honest.shift1,
    rounds_settled_with_garbage_shares: garbage.reduce((s, o) => s + o.settled, 0),
    rounds_total: garbage.reduce((s, o) => s + o.rounds, 0),
    rounds_settled_garbage_unmask: by('garbage-unmask-shares').settled,
    rounds_total_garbage_unmask: by('garbage-unmask-shares').rounds,
    rounds_settled_garbage_ciphertexts: by('garbage-share-ciphertexts').settled,
    rounds_total_garbage_ciphertexts: by('garbage-share-ciphertexts').rounds,
    honest_paid_with_garbage_shares: garbageSeen ? garbagePaid / garbageSeen : 0,
    honest_paid_share_honest_run: paidShare(honest),
    honest_summed_with_garbage_shares: garbageSeen
      ? garbage.reduce((s, o) => s + o.honestSummed, 0) / garbageSeen
      : 0,
    attacker_reward_share: totalPaid > 0n ? Number(attackerPaid) / Number(totalPaid) : 0,
    accuracy_honest: honest.accuracy,
    accuracy_one_attacker: by('extreme-words').accuracy,
    accuracy_drop_pp_one_attacker: 100 * (honest.accuracy - by('extreme-words').accuracy),
  };
}
