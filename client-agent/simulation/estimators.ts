/**
 * Per-person scores from published group values, replayed round by round (what an auditor
 * can recompute from group membership and utilities alone).
 *
 * - `mean`: each member gets the group value times its share of
 *   the group's sample weight; per-person running mean across rounds.
 * - `debiased`: the same running mean after removing, each round, the share of the other
 *   members' value a person inherits. With N participants split at random, a member of group
 *   g shares it with |g|-1 people drawn from the other N-1, so for additive contributions c,
 *   E[v_g | i in g] = c_i + a (C - c_i), a = (|g|-1)/(N-1), C = sum of all group values. The
 *   estimate (v_g - a C) / (1 - a) is then unbiased for c_i, and with equal group sizes the
 *   estimates of a round still sum to C. It lets a free rider in a good group score below
 *   zero, which the plain mean almost never does.
 */
import { DEFAULT_RIDGE, leastSquaresEstimates, type GroupRound } from '../../aggregation/index.js';
import type { RoundRecord, UtilityMetric } from './federated.js';

export type EstimatorName = 'mean' | 'debiased' | 'lsq';
export const ESTIMATORS: readonly EstimatorName[] = ['mean', 'debiased', 'lsq'];

/** One round's per-person scores. */
export function roundScores(
  rec: RoundRecord,
  metric: UtilityMetric,
  estimator: Exclude<EstimatorName, 'lsq'>,
  weights: ReadonlyMap<string, number>,
): Map<string, number> {
  const values = rec.groupValues?.[metric];
  if (!values) throw new Error(`round ${rec.round} has no group values`);
  const n = rec.groups.reduce((s, g) => s + g.length, 0);
  const total = values.reduce((s, v) => s + v, 0);
  const out = new Map<string, number>();
  rec.groups.forEach((members, g) => {
    const v = values[g]!;
    if (estimator === 'mean') {
      const w = members.reduce((s, id) => s + (weights.get(id) ?? 1), 0);
      for (const id of members) out.set(id, (v * (weights.get(id) ?? 1)) / w);
    } else {
      const a = n > 1 ? (members.length - 1) / (n - 1) : 0;
      for (const id of members) out.set(id, (v - a * total) / (1 - a));
    }
  });
  return out;
}

/**
 * Least-squares per-person estimates after each round: aggregation's `leastSquaresEstimates`,
 * the estimator the aggregator pays by (scoreRound), run on each prefix of the rounds.
 */
export function replayLeastSquares(
  records: readonly RoundRecord[],
  metric: UtilityMetric,
  ridge = DEFAULT_RIDGE,
): Map<string, number>[] {
  const rounds: GroupRound[] = [];
  return records.map((rec) => {
    const values = rec.groupValues?.[metric];
    if (!values) throw new Error(`round ${rec.round} has no group values`);
    rounds.push({ groups: rec.groups, values });
    return leastSquaresEstimates(rounds, ridge);
  });
}

/** Running means after each round: element r is the estimate map after round r+1. */
export function replayEstimates(
  records: readonly RoundRecord[],
  metric: UtilityMetric,
  estimator: EstimatorName,
  weights: ReadonlyMap<string, number>,
): Map<string, number>[] {
  if (estimator === 'lsq') return replayLeastSquares(records, metric);
  const acc = new Map<string, { sum: number; n: number }>();
  return records.map((rec) => {
    for (const [id, s] of roundScores(rec, metric, estimator, weights)) {
      const e = acc.get(id) ?? { sum: 0, n: 0 };
      e.sum += s;
      e.n += 1;
      acc.set(id, e);
    }
    return new Map([...acc].map(([id, e]) => [id, e.sum / e.n]));
  });
}
