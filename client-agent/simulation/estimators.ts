/**
 * Per-person scores from published group values, replayed round by round (what an auditor
 * can recompute from group membership and utilities alone).
 *
 * - `mean` (DESIGN.md "Measured quality"): each member gets the group value times its share of
 *   the group's sample weight; per-person running mean across rounds.
 * - `debiased`: the same running mean after removing, each round, the share of the other
 *   members' value a person inherits. With N participants split at random, a member of group
 *   g shares it with |g|-1 people drawn from the other N-1, so for additive contributions c,
 *   E[v_g | i in g] = c_i + a (C - c_i), a = (|g|-1)/(N-1), C = sum of all group values. The
 *   estimate (v_g - a C) / (1 - a) is then unbiased for c_i, and with equal group sizes the
 *   estimates of a round still sum to C. It lets a free rider in a good group score below
 *   zero, which the plain mean almost never does.
 */
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

/** Solves the symmetric positive definite system m x = b (Cholesky). */
function solveSpd(m: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = m[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / l[j * n + j]!;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * y[k]!;
    y[i] = s / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}

/**
 * Least-squares per-person estimates after each round (see the `lsq` note above). `ridge` is
 * relative to the average diagonal of the normal matrix.
 */
export function replayLeastSquares(
  records: readonly RoundRecord[],
  metric: UtilityMetric,
  ridge = 1e-3,
): Map<string, number>[] {
  const ids = [...new Set(records.flatMap((r) => r.groups.flat()))].sort();
  const n = ids.length;
  const index = new Map(ids.map((id, i) => [id, i]));
  const ata = new Float64Array(n * n);
  const atv = new Float64Array(n);
  let totalValue = 0;
  let appearances = 0;
  return records.map((rec) => {
    const values = rec.groupValues?.[metric];
    if (!values) throw new Error(`round ${rec.round} has no group values`);
    rec.groups.forEach((members, g) => {
      const idx = members.map((id) => index.get(id)!);
      for (const i of idx) {
        atv[i]! += values[g]!;
        for (const j of idx) ata[i * n + j]! += 1;
      }
      totalValue += values[g]!;
      appearances += members.length;
    });
    let diag = 0;
    for (let i = 0; i < n; i++) diag += ata[i * n + i]!;
    const lambda = (ridge * diag) / n;
    const prior = appearances ? totalValue / appearances : 0;
    const m = Float64Array.from(ata);
    const b = Float64Array.from(atv);
    for (let i = 0; i < n; i++) {
      m[i * n + i]! += lambda;
      b[i]! += lambda * prior;
    }
    const x = solveSpd(m, b, n);
    const seen = new Set(rec.groups.flat());
    return new Map(
      ids
        .filter((id) => seen.has(id) || ata[index.get(id)! * (n + 1)]! > 0)
        .map((id) => [id, x[index.get(id)!]!]),
    );
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
