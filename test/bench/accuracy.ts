/**
 * Accuracy and fairness benchmark (issue 4): Fashion-MNIST, the small CNN, 10 simulated clients.
 *
 *  - central vs federated IID vs federated 2-class shards, same total epochs;
 *  - FedAvg with SecAgg+ vs plaintext FedAvg, same seeds (differ only by quantization);
 *  - rewards under group-based scoring with 2 free riders and 1 label flipper;
 *  - group-based per-person scores vs exact per-person Shapley values (visible updates) on
 *    clients with graded label noise;
 *  - wasm vs cpu epoch time.
 * Also writes accuracy-curves.json and accuracy.svg (accuracy per round) next to the results.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { FedAvg, allocateRewards, toFixedScore } from '../../aggregation/index.js';
import { slice } from '../../client-agent/data/dataset.js';
import { ensureRegistered, initBackend } from '../../client-agent/training/backend.js';
import type { HyperParams } from '../../client-agent/training/model-spec.js';
import { Trainer } from '../../client-agent/training/trainer.js';
import { runCentral } from '../../client-agent/simulation/central.js';
import type { Corruption } from '../../client-agent/simulation/corrupt.js';
import {
  runFederated,
  UTILITY_METRICS,
  type FederatedResult,
  type UtilityMetric,
} from '../../client-agent/simulation/federated.js';
import { cnnModel, prepareData, scoringEvaluator } from '../../client-agent/simulation/setup.js';
import { spearman } from '../../client-agent/simulation/stats.js';
import { ESTIMATORS, replayEstimates } from '../../client-agent/simulation/estimators.js';
import { lineChartSvg } from '../../client-agent/simulation/svg-chart.js';

type Figures = Record<string, number | string | boolean | null>;

const here = dirname(fileURLToPath(import.meta.url));
const log = (s: string) => console.error(`[accuracy] ${s}`);
const pp = (a: number, b: number) => Number((100 * Math.abs(a - b)).toFixed(3));
const r4 = (x: number) => Number(x.toFixed(4));

interface Setting {
  samplesPerClient: number;
  rounds: number;
  /** Local training of the accuracy runs (central: rounds x localEpochs epochs). */
  hyper: HyperParams;
  testSamples: number;
  scoreSamplesPerClient: number;
  scoreRounds: number;
  validationSamples: number;
  /** Independent repetitions of the two scoring experiments. */
  scoreSeeds: number;
  epochSamples: number;
}

const FULL: Setting = {
  samplesPerClient: 1000,
  rounds: 10,
  hyper: { localEpochs: 2, batchSize: 32, learningRate: 0.15, fedProxMu: 0 },
  testSamples: 10000,
  scoreSamplesPerClient: 500,
  scoreRounds: 10,
  validationSamples: 200,
  scoreSeeds: 3,
  epochSamples: 300,
};
const QUICK: Setting = {
  samplesPerClient: 300,
  rounds: 5,
  hyper: { localEpochs: 2, batchSize: 32, learningRate: 0.15, fedProxMu: 0 },
  testSamples: 2000,
  scoreSamplesPerClient: 150,
  scoreRounds: 5,
  validationSamples: 100,
  scoreSeeds: 1,
  epochSamples: 100,
};

const CLIENTS = 10;
const SEED = 2024;
/** Local training of the scoring runs (one short epoch a round, as a data owner would run). */
const scoreHyper: HyperParams = { localEpochs: 1, batchSize: 32, learningRate: 0.05, fedProxMu: 0 };
const CLIP = 10;

export async function run({ quick }: { quick: boolean }): Promise<Figures> {
  const s = quick ? QUICK : FULL;
  const backend = await initBackend({ log });
  const { architecture, initial } = await cnnModel(SEED);
  const trainer = await Trainer.create(architecture);
  const figures: Figures = { backend, clients: CLIENTS, rounds: s.rounds };
  const curves: Record<string, (number | null)[]> = {};
  const started = performance.now();

  // --- accuracy: central vs IID (plain, secure) vs shards -------------------------------
  const iid = await prepareData({
    clients: CLIENTS,
    samplesPerClient: s.samplesPerClient,
    partition: 'iid',
    testSamples: s.testSamples,
    seed: SEED,
  });
  figures['dataset'] = iid.dataset;
  figures['samples_per_client'] = s.samplesPerClient;
  figures['local_epochs'] = s.hyper.localEpochs;
  figures['learning_rate'] = s.hyper.learningRate;
  figures['test_samples'] = s.testSamples;
  const fed = async (name: string, data: typeof iid, secure: boolean): Promise<FederatedResult> => {
    const t0 = performance.now();
    const res = await runFederated({
      clients: data.clients,
      test: data.test,
      architecture,
      initialWeights: initial,
      hyper: s.hyper,
      strategy: new FedAvg(),
      rounds: s.rounds,
      secure,
      clip: CLIP,
      seed: SEED,
      trainer,
      onRound: (r) => log(`${name} round ${r.round}: acc ${r.test?.accuracy.toFixed(4)}`),
    });
    curves[name] = res.rounds.map((r) => r.test?.accuracy ?? null);
    figures[`${name}_seconds`] = Number(((performance.now() - t0) / 1000).toFixed(1));
    return res;
  };
  const plain = await fed('iid_plain', iid, false);
  const secure = await fed('iid_secure', iid, true);
  const secureAgg = secure.rounds.reduce((a, r) => a + r.aggregateSeconds, 0) / s.rounds;
  const t0 = performance.now();
  const central = await runCentral({
    train: iid.pooled,
    test: iid.test,
    architecture,
    initialWeights: initial,
    hyper: s.hyper,
    epochs: s.rounds * s.hyper.localEpochs,
    seed: SEED,
    trainer,
    onEpoch: (e, t) => log(`central epoch ${e}: acc ${t?.accuracy.toFixed(4)}`),
  });
  curves['central'] = central.curve;
  figures['central_seconds'] = Number(((performance.now() - t0) / 1000).toFixed(1));
  const shards = await prepareData({
    clients: CLIENTS,
    samplesPerClient: s.samplesPerClient,
    partition: 'shards',
    testSamples: s.testSamples,
    seed: SEED,
  });
  const noniid = await fed('shards_plain', shards, false);

  figures['central_acc'] = r4(central.final.accuracy);
  figures['iid_acc'] = r4(plain.final.accuracy);
  figures['iid_secure_acc'] = r4(secure.final.accuracy);
  figures['noniid_acc'] = r4(noniid.final.accuracy);
  figures['secure_vs_plain_pp'] = pp(secure.final.accuracy, plain.final.accuracy);
  figures['iid_vs_central_pp'] = Number(
    (100 * (central.final.accuracy - plain.final.accuracy)).toFixed(3),
  );
  figures['secagg_seconds_per_round'] = Number(secureAgg.toFixed(3));

  // --- scoring experiments, repeated over `scoreSeeds` seeds (figures are their means) ----
  const perSeed = new Map<string, number[]>();
  const collect = (key: string, v: number) => perSeed.set(key, [...(perSeed.get(key) ?? []), v]);
  const bad = new Set([7, 8, 9]);
  for (let k = 0; k < s.scoreSeeds; k++) {
    // --- rewards with free riders and a label flipper --------------------------------------
    const badCorruptions: Corruption[] = Array.from({ length: CLIENTS }, (_, i) =>
      i === 7 || i === 8
        ? { kind: 'random-labels' }
        : i === 9
          ? { kind: 'flip-labels' }
          : { kind: 'none' },
    );
    const freeRide = await prepareData({
      clients: CLIENTS,
      samplesPerClient: s.scoreSamplesPerClient,
      partition: 'iid',
      testSamples: Math.min(2000, s.testSamples),
      validationSamples: s.validationSamples,
      seed: SEED + 1 + 10 * k,
      corruptions: badCorruptions,
    });
    const frEvaluator = await scoringEvaluator(architecture, freeRide.validation);
    const fr = await runFederated({
      clients: freeRide.clients,
      test: freeRide.test,
      architecture,
      initialWeights: initial,
      hyper: scoreHyper,
      strategy: new FedAvg(),
      rounds: s.scoreRounds,
      secure: true,
      clip: CLIP,
      seed: SEED + 1 + 10 * k,
      trainer,
      scoring: { validation: freeRide.validation, evaluator: frEvaluator },
      evalEvery: s.scoreRounds,
      onRound: (r) =>
        log(
          `free-rider (seed ${k}) round ${r.round}: group values (loss) ${r.groupValues?.loss.map((v) => v.toFixed(4)).join(' ')}`,
        ),
    });
    frEvaluator.dispose();
    const badIds = freeRide.clients.filter((_, i) => bad.has(i)).map((c) => c.id);
    // What settlement paid (scoreRound on the aggregator's utilities), round by round, and the
    // last round alone (paid by the final estimates).
    const paid = paidShares(fr.rounds, badIds);
    collect('bad_reward_share_settled', paid.perRound);
    collect('bad_reward_share_settled_final_estimates', paid.last);
    const frWeights = new Map(freeRide.clients.map((c) => [c.id, c.data.y.length]));
    for (const metric of UTILITY_METRICS) {
      for (const est of ESTIMATORS) {
        const running = replayEstimates(fr.rounds, metric, est, frWeights);
        const { final, perRound } = rewardShares(running, badIds);
        // Clean clients left with nothing (estimate <= 0): the cost of scoring groups, not people.
        const zeroed = freeRide.clients.filter(
          (c, i) => !bad.has(i) && running.at(-1)!.get(c.id)! <= 0,
        ).length;
        collect(`clean_clients_unpaid_${est}_${metric}`, zeroed);
        // After the scoring rounds, one allocation by the estimates (the figure) ...
        collect(`bad_reward_share_${est}_${metric}`, final);
        // ... and, for comparison, a budget paid every round by the estimates so far.
        collect(`bad_reward_share_paid_per_round_${est}_${metric}`, perRound);
      }
    }

    // --- group scores vs exact per-person Shapley, graded label noise ----------------------
    const graded: Corruption[] = Array.from({ length: CLIENTS }, (_, i) =>
      i === 0 ? { kind: 'none' } : { kind: 'label-noise', rate: i / 10 },
    );
    const gradedData = await prepareData({
      clients: CLIENTS,
      samplesPerClient: s.scoreSamplesPerClient,
      partition: 'iid',
      testSamples: Math.min(2000, s.testSamples),
      validationSamples: s.validationSamples,
      seed: SEED + 2 + 10 * k,
      corruptions: graded,
    });
    const tg = performance.now();
    const grEvaluator = await scoringEvaluator(architecture, gradedData.validation);
    const gr = await runFederated({
      clients: gradedData.clients,
      test: gradedData.test,
      architecture,
      initialWeights: initial,
      hyper: scoreHyper,
      strategy: new FedAvg(),
      rounds: s.scoreRounds,
      secure: true,
      clip: CLIP,
      seed: SEED + 2 + 10 * k,
      trainer,
      scoring: { validation: gradedData.validation, evaluator: grEvaluator, exactPersons: true },
      evalEvery: s.scoreRounds,
      onRound: (r) =>
        log(`graded (seed ${k}) round ${r.round}: scoring ${r.scoreSeconds.toFixed(1)} s`),
    });
    grEvaluator.dispose();
    collect('graded_seconds', (performance.now() - tg) / 1000);
    const ids = gradedData.clients.map((c) => c.id);
    const grWeights = new Map(gradedData.clients.map((c) => [c.id, c.data.y.length]));
    const quality = ids.map((_, i) => -i);
    for (const metric of UTILITY_METRICS) {
      const exact = ids.map((id) => gr.exactPersonShapley![metric].get(id)!);
      collect(`spearman_exact_vs_quality_${metric}`, spearman(exact, quality));
      for (const est of ESTIMATORS) {
        const final = replayEstimates(gr.rounds, metric, est, grWeights).at(-1)!;
        const group = ids.map((id) => final.get(id)!);
        collect(`spearman_vs_exact_shapley_${est}_${metric}`, spearman(group, exact));
        collect(`spearman_group_vs_quality_${est}_${metric}`, spearman(group, quality));
      }
    }
  }
  for (const [key, vs] of perSeed) {
    figures[key] = r4(vs.reduce((a, b) => a + b, 0) / vs.length);
  }
  figures['score_seeds'] = s.scoreSeeds;
  const primary: UtilityMetric = 'loss';
  figures['utility_metric'] = primary;
  const headline = (name: string, key: string) => {
    figures[name] = figures[key]!;
    figures[`${name}_per_seed`] = perSeed
      .get(key)!
      .map((v) => v.toFixed(4))
      .join(' ');
  };
  // Headlines use the estimator the aggregator pays by (aggregation's scoreRound: least
  // squares over all rounds' group values); the running mean of group shares is kept alongside.
  // bad_reward_share is what settlement paid, round by round (scoreRound's rewards on the
  // aggregator's evaluator); the last round alone, paid by the final estimates, is kept beside it.
  headline('bad_reward_share', 'bad_reward_share_settled');
  headline('bad_reward_share_final_estimates', 'bad_reward_share_settled_final_estimates');
  headline('spearman_vs_exact_shapley', `spearman_vs_exact_shapley_lsq_${primary}`);
  headline('clean_clients_unpaid', `clean_clients_unpaid_lsq_${primary}`);
  headline('bad_reward_share_running_mean', `bad_reward_share_mean_${primary}`);
  headline('spearman_vs_exact_shapley_running_mean', `spearman_vs_exact_shapley_mean_${primary}`);
  headline('clean_clients_unpaid_running_mean', `clean_clients_unpaid_mean_${primary}`);

  // --- wasm vs cpu epoch time ------------------------------------------------------------
  figures['wasm_vs_cpu_epoch'] = await epochRatio(
    architecture,
    initial,
    slice(iid.pooled, 0, s.epochSamples),
    figures,
  );

  trainer.dispose();
  figures['total_seconds'] = Number(((performance.now() - started) / 1000).toFixed(1));
  writeArtifacts(curves, figures, quick);
  return figures;
}

/** Share of what scoreRound paid (RoundRecord.paid) that went to `badIds`: all rounds, and the last. */
function paidShares(
  rounds: readonly { paid?: Map<string, bigint> }[],
  badIds: readonly string[],
): { perRound: number; last: number } {
  const share = (rs: readonly { paid?: Map<string, bigint> }[]) => {
    let bad = 0n;
    let total = 0n;
    for (const r of rs) {
      for (const [id, v] of r.paid!) {
        total += v;
        if (badIds.includes(id)) bad += v;
      }
    }
    return total ? Number(bad) / Number(total) : 0;
  };
  return { perRound: share(rounds), last: share(rounds.slice(-1)) };
}

/**
 * Share of rewards earned by `badIds`: `perRound` pays an equal budget every round by the
 * running estimates after that round (what settles on chain); `final` pays one budget by the
 * estimates after the last round.
 */
function rewardShares(
  running: readonly Map<string, number>[],
  badIds: readonly string[],
): { final: number; perRound: number } {
  const budget = 1_000_000n;
  const pay = (scores: Map<string, number>) => {
    const r = allocateRewards(budget, new Map([...scores].map(([id, v]) => [id, toFixedScore(v)])));
    const total = [...r.values()].reduce((a, b) => a + b, 0n);
    const badSum = badIds.reduce((a, id) => a + (r.get(id) ?? 0n), 0n);
    return { bad: Number(badSum), total: Number(total) };
  };
  const f = pay(running.at(-1)!);
  let bad = 0;
  let total = 0;
  for (const est of running) {
    const p = pay(est);
    bad += p.bad;
    total += p.total;
  }
  return { final: f.total ? f.bad / f.total : 0, perRound: total ? bad / total : 0 };
}

async function epochRatio(
  architecture: Awaited<ReturnType<typeof cnnModel>>['architecture'],
  initial: Float32Array,
  data: ReturnType<typeof slice>,
  figures: Figures,
): Promise<number | null> {
  const time = async (): Promise<number> => {
    const t = await Trainer.create(architecture);
    try {
      await t.train(initial, slice(data, 0, 64), scoreHyper, 1); // warm-up
      const t0 = performance.now();
      await t.train(initial, data, { ...scoreHyper, localEpochs: 1 }, 2);
      return (performance.now() - t0) / 1000;
    } finally {
      t.dispose();
    }
  };
  const current = tf.getBackend();
  if (!(await ensureRegistered('wasm'))) return null;
  await tf.setBackend('wasm');
  const wasm = await time();
  await tf.setBackend('cpu');
  const cpu = await time();
  await tf.setBackend(current);
  figures['epoch_samples'] = data.y.length;
  figures['wasm_epoch_seconds'] = Number(wasm.toFixed(3));
  figures['cpu_epoch_seconds'] = Number(cpu.toFixed(3));
  return r4(wasm / cpu);
}

export interface Curves {
  quick: boolean;
  title: string;
  /** Local epochs per round: federated round r has seen r x localEpochs epochs of data. */
  localEpochs: number;
  curves: Record<string, (number | null)[]>;
}

/** Accuracy against epochs of data processed (centralized: epochs; federated: rounds x E). */
export function accuracyChart(c: Curves): string {
  const fedPts = (k: string) =>
    (c.curves[k] ?? []).map((y, i) => [(i + 1) * c.localEpochs, y] as const);
  return lineChartSvg(
    [
      {
        name: 'centralized',
        points: (c.curves['central'] ?? []).map((y, i) => [i + 1, y] as const),
        color: '#222222',
        dashed: true,
      },
      { name: 'FedAvg IID, plaintext', points: fedPts('iid_plain'), color: '#1f77b4' },
      { name: 'FedAvg IID, SecAgg+', points: fedPts('iid_secure'), color: '#ff7f0e', dashed: true },
      { name: 'FedAvg 2-class shards', points: fedPts('shards_plain'), color: '#d62728' },
    ],
    {
      title: c.title,
      xLabel: `epochs over the data (federated: round x ${c.localEpochs} local epochs)`,
      yLabel: 'test accuracy',
      yMin: 0,
      yMax: 1,
    },
  );
}

function writeArtifacts(
  curves: Record<string, (number | null)[]>,
  figures: Figures,
  quick: boolean,
): void {
  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  const c: Curves = {
    quick,
    title: `${String(figures['dataset'])}, small CNN, ${CLIENTS} clients x ${String(figures['samples_per_client'])} samples${quick ? ' (quick)' : ''}`,
    localEpochs: Number(figures['local_epochs']),
    curves,
  };
  writeFileSync(join(dir, 'accuracy-curves.json'), JSON.stringify(c, null, 2) + '\n');
  writeFileSync(join(dir, 'accuracy.svg'), accuracyChart(c));
}
