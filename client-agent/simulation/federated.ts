/**
 * The whole federated algorithm in one process, no network: local training on each simulated
 * client, random groups of >= minGroupSize, per-group aggregation (SecAgg+ with real keys,
 * shares and masks when `secure`, plaintext otherwise), a server strategy step, and optionally
 * the quality scoring the README describes ("How a round flows", "Auditing rewards"): group Shapley values on a validation
 * set, split by sample weight, averaged per person across rounds.
 *
 * Scoring is the aggregator's own path: coalition utilities come from the evaluator it scores
 * with (server/models/evaluate.ts, passed in as `scoring.evaluator`), and each round is paid by
 * aggregation's `scoreRound`, exactly as settlement pays it on chain (`RoundRecord.paid`).
 *
 * The plaintext path clips exactly as the secure one does, so the two differ only by
 * quantization (and its stochastic rounding, seeded).
 */
import {
  clipL2,
  coalitionWeights,
  decodeSum,
  encodeUpdate,
  exactShapley,
  makeQuantConfig,
  makeRng,
  maxScale,
  personScores,
  planGroups,
  runSecAggInProcess,
  scoreRound,
  updateEstimates,
  weightedMean,
  type Estimate,
  type ScoringState,
  type ServerState,
  type Strategy,
  type UpdateResult,
} from '../../aggregation/index.js';
import { size, type Dataset } from '../data/dataset.js';
import type { HyperParams } from '../training/model-spec.js';
import type { Architecture } from '../training/model.js';
import { Trainer, type Evaluation } from '../training/trainer.js';

/** Validation metrics of a weight vector: the interface of the aggregator's evaluator. */
export interface UtilityEvaluator {
  /** Validation loss and accuracy from one forward pass. */
  metrics(weights: Float32Array): Promise<{ loss: number; accuracy: number }>;
}

export type UtilityMetric = 'accuracy' | 'loss';
export const UTILITY_METRICS: readonly UtilityMetric[] = ['accuracy', 'loss'];

export interface SimClient {
  id: string;
  data: Dataset;
}

export interface FederatedOptions {
  clients: readonly SimClient[];
  /** Held-out test set for the per-round accuracy curve. */
  test: Dataset;
  architecture: Architecture;
  initialWeights: Float32Array;
  hyper: HyperParams;
  strategy: Strategy;
  rounds: number;
  /** Run SecAgg+ per group; otherwise sum in the clear. */
  secure: boolean;
  /** L2 clipping bound of every update (both paths). */
  clip: number;
  minGroupSize?: number;
  maxGroups?: number;
  seed: number;
  /** Score contributions on this validation set (the sponsor's). */
  scoring?: {
    validation: Dataset;
    /** The aggregator's evaluator on `validation` (server/models/evaluate.ts makeEvaluator). */
    evaluator: UtilityEvaluator;
    /** Paid every round by scoreRound (default 1,000,000 units). */
    budget?: bigint;
    /** Also compute exact per-person Shapley values from the visible individual updates. */
    exactPersons?: boolean;
  };
  /** Evaluate the test set every `evalEvery` rounds (and always after the last). Default 1. */
  evalEvery?: number;
  onRound?: (r: RoundRecord) => void;
  /** Reuse a trainer built for this architecture (saves model construction). */
  trainer?: Trainer;
}

export interface RoundRecord {
  round: number;
  /** Test metrics after this round (null when not evaluated this round). */
  test: Evaluation | null;
  groups: string[][];
  trainSeconds: number;
  aggregateSeconds: number;
  scoreSeconds: number;
  /** Group Shapley values per metric, in `groups` order. */
  groupValues?: Record<UtilityMetric, number[]>;
  /**
   * What settlement pays this round: scoreRound's rewards on the negative-loss utilities (the
   * aggregator's metric), by the least-squares estimates of all rounds so far.
   */
  paid?: Map<string, bigint>;
}

export interface FederatedResult {
  weights: Float32Array;
  final: Evaluation;
  rounds: RoundRecord[];
  /** Running per-person estimates from group scoring, per metric. */
  estimates?: Record<UtilityMetric, Map<string, Estimate>>;
  /** Sum over rounds of exact per-person Shapley values (visible updates), per metric. */
  exactPersonShapley?: Record<UtilityMetric, Map<string, number>>;
}

function roundSeed(seed: number, round: number, client: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 31) + round * 1009 + client * 7919) >>> 0;
}

/** Evaluates U(S) = metrics of global + weighted mean of the results in S, for every mask. */
async function coalitionUtilities(
  evaluator: UtilityEvaluator,
  global: Float32Array,
  results: readonly UpdateResult[],
): Promise<Record<UtilityMetric, Float64Array>> {
  const n = results.length;
  const acc = new Float64Array(1 << n);
  const loss = new Float64Array(1 << n);
  const groups = results.map((r) => ({ mean: r.delta, weight: r.weight }));
  for (let mask = 0; mask < 1 << n; mask++) {
    // The weights the aggregator scores a coalition at (aggregation's coalitionWeights).
    const e = await evaluator.metrics(coalitionWeights(global, groups, mask));
    acc[mask] = e.accuracy;
    // Negative mean cross-entropy, so that higher is better for both metrics.
    loss[mask] = -e.loss;
  }
  return { accuracy: acc, loss };
}

export async function runFederated(opts: FederatedOptions): Promise<FederatedResult> {
  const { clients, hyper, rounds, clip } = opts;
  if (clients.length < (opts.minGroupSize ?? 3)) {
    throw new Error(`need at least ${opts.minGroupSize ?? 3} clients, got ${clients.length}`);
  }
  const trainer = opts.trainer ?? (await Trainer.create(opts.architecture));
  const groupRng = makeRng(opts.seed);
  const quantRng = makeRng(opts.seed + 1);
  const ids = clients.map((c) => c.id);
  const index = new Map(ids.map((id, i) => [id, i]));
  const maxWeight = Math.max(...clients.map((c) => size(c.data)));
  let global: Float32Array = new Float32Array(opts.initialWeights);
  let state: ServerState = { round: 0 };
  const records: RoundRecord[] = [];
  const scoring = opts.scoring;
  let estimates: Record<UtilityMetric, Map<string, Estimate>> | undefined = scoring
    ? { accuracy: new Map(), loss: new Map() }
    : undefined;
  const exact: Record<UtilityMetric, Map<string, number>> | undefined = scoring?.exactPersons
    ? { accuracy: new Map(ids.map((id) => [id, 0])), loss: new Map(ids.map((id) => [id, 0])) }
    : undefined;
  let last: Evaluation | null = null;
  let paying: ScoringState = { rounds: [] };

  try {
    for (let r = 1; r <= rounds; r++) {
      const t0 = performance.now();
      const updates: { delta: Float32Array; weight: number }[] = [];
      for (let i = 0; i < clients.length; i++) {
        const res = await trainer.train(
          global,
          clients[i]!.data,
          hyper,
          roundSeed(opts.seed, r, i),
        );
        updates.push({ delta: clipL2(res.delta, clip), weight: res.numSamples });
      }
      const t1 = performance.now();

      const groups = planGroups(ids, {
        minGroupSize: opts.minGroupSize ?? 3,
        maxGroups: opts.maxGroups ?? 8,
        rng: groupRng,
      });
      const groupResults: UpdateResult[] = [];
      for (const [g, members] of groups.entries()) {
        const mine = members.map((id) => updates[index.get(id)!]!);
        if (opts.secure) {
          const cfg = makeQuantConfig({
            clip,
            maxClients: members.length,
            maxWeight,
            scale: maxScale(clip, members.length, maxWeight),
          });
          const inputs = mine.map((u) => encodeUpdate(u.delta, u.weight, cfg, quantRng));
          const out = await runSecAggInProcess(inputs, { round: `r${r}`, group: `g${g}` });
          const { mean, totalWeight } = decodeSum(out.sum, cfg);
          groupResults.push({ delta: mean, weight: totalWeight, clients: out.included.length });
        } else {
          groupResults.push({
            delta: weightedMean(mine),
            weight: mine.reduce((s, u) => s + u.weight, 0),
            clients: mine.length,
          });
        }
      }
      const t2 = performance.now();

      let groupValues: Record<UtilityMetric, number[]> | undefined;
      let paid: Map<string, bigint> | undefined;
      if (scoring && estimates) {
        const table = await coalitionUtilities(scoring.evaluator, global, groupResults);
        // The round as settlement scores it (the record's groups, weights and utilities).
        const settled = scoreRound(
          {
            budget: scoring.budget ?? 1_000_000n,
            groups: groups.map((members) => ({
              members: members.map((id) => ({ id, weight: updates[index.get(id)!]!.weight })),
            })),
            utilities: Array.from(table.loss),
            offenders: [],
          },
          paying,
        );
        paying = settled.state;
        paid = settled.rewards;
        const next = { ...estimates };
        groupValues = { accuracy: [], loss: [] };
        for (const metric of UTILITY_METRICS) {
          const phi = exactShapley(table[metric]);
          groupValues[metric] = Array.from(phi);
          const scores = personScores(
            groups.map((members, g) => ({
              value: phi[g]!,
              members: members.map((id) => ({ id, weight: updates[index.get(id)!]!.weight })),
            })),
          );
          next[metric] = updateEstimates(estimates[metric], scores);
        }
        estimates = next;
        if (exact) {
          const perPerson = await coalitionUtilities(scoring.evaluator, global, updates);
          for (const metric of UTILITY_METRICS) {
            const phi = exactShapley(perPerson[metric]);
            ids.forEach((id, i) => exact[metric].set(id, exact[metric].get(id)! + phi[i]!));
          }
        }
      }
      const t3 = performance.now();

      const step = opts.strategy.aggregateTrain(global, groupResults, state);
      global = step.weights;
      state = step.state;
      const evalEvery = opts.evalEvery ?? 1;
      const test = r % evalEvery === 0 || r === rounds ? trainer.evaluate(global, opts.test) : null;
      if (test) last = test;
      const rec: RoundRecord = {
        round: r,
        test,
        groups,
        trainSeconds: (t1 - t0) / 1000,
        aggregateSeconds: (t2 - t1) / 1000,
        scoreSeconds: (t3 - t2) / 1000,
        ...(groupValues ? { groupValues } : {}),
        ...(paid ? { paid } : {}),
      };
      records.push(rec);
      opts.onRound?.(rec);
    }
  } finally {
    if (!opts.trainer) trainer.dispose();
  }
  return {
    weights: global,
    final: last ?? { accuracy: NaN, loss: NaN },
    rounds: records,
    ...(estimates ? { estimates } : {}),
    ...(exact ? { exactPersonShapley: exact } : {}),
  };
}
