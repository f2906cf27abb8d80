/**
 * Per-person contributions from group values by least squares. Under secure aggregation the
 * server only ever scores groups; groups are redrawn every round, so after r rounds each person
 * sits in r groups with different company. Modelling a group's value as the sum of its members'
 * contributions, v_g = Σ_{i∈g} c_i, and solving all rounds' equations together separates a person
 * from their group-mates, which a running mean of group shares cannot: there a free rider in a
 * good group keeps the good group's credit.
 *
 * Ridge regularisation (λ relative to the mean diagonal of AᵀA) pulls estimates towards the mean
 * value per appearance, so a person seen once or in one group gets the average, not an
 * arbitrary split. The solve is a Cholesky factorisation of the p x p normal matrix
 * (p = people so far), a few milliseconds for hundreds of people.
 */
import { check } from '../errors.js';
import type { ClientId } from '../types.js';

/** One round as the estimator sees it: who was in each group, and each group's value. */
export interface GroupRound {
  readonly groups: readonly (readonly ClientId[])[];
  readonly values: readonly number[];
}

export const DEFAULT_RIDGE = 1e-3;

/** Solves the symmetric positive definite system m x = b (Cholesky, m row-major n x n). */
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
 * Least-squares estimates of every person seen in `rounds`, from all of them at once.
 * Deterministic: people are indexed in sorted order, so an auditor gets the same doubles.
 */
export function leastSquaresEstimates(
  rounds: readonly GroupRound[],
  ridge = DEFAULT_RIDGE,
): Map<ClientId, number> {
  check(ridge > 0, 'CONFIG', 'ridge must be > 0');
  const ids = [...new Set(rounds.flatMap((r) => r.groups.flat()))].sort();
  const n = ids.length;
  const index = new Map(ids.map((id, i) => [id, i]));
  const ata = new Float64Array(n * n);
  const atv = new Float64Array(n);
  let totalValue = 0;
  let appearances = 0;
  for (const r of rounds) {
    check(r.values.length === r.groups.length, 'CONFIG', 'one value per group');
    r.groups.forEach((members, g) => {
      const v = r.values[g]!;
      check(Number.isFinite(v), 'CONFIG', 'group values must be finite');
      const idx = members.map((id) => index.get(id)!);
      for (const i of idx) {
        atv[i]! += v;
        for (const j of idx) ata[i * n + j]! += 1;
      }
      totalValue += v;
      appearances += members.length;
    });
  }
  if (n === 0) return new Map();
  let diag = 0;
  for (let i = 0; i < n; i++) diag += ata[i * n + i]!;
  const lambda = (ridge * diag) / n;
  const prior = appearances ? totalValue / appearances : 0;
  for (let i = 0; i < n; i++) {
    ata[i * n + i]! += lambda;
    atv[i]! += lambda * prior;
  }
  const x = solveSpd(ata, atv, n);
  return new Map(ids.map((id, i) => [id, x[i]!]));
}
