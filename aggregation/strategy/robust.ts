/**
 * Robust aggregation over group means, as a wrapper around any strategy (the way CentralDP wraps
 * one). Under secure aggregation the server never sees an individual update, but every group sum
 * is a "bucket" mean in the sense of Karimireddy, He and Jaggi, "Byzantine-robust learning on
 * heterogeneous datasets via bucketing" (ICLR 2022): groups are drawn at random each round, and a
 * robust rule over bucket means keeps the good properties of the rule while the bucketing tames
 * heterogeneity. Here the rule is the coordinate-wise median or trimmed mean of the group means
 * (Yin et al. 2018), unweighted across groups (a group's weight is what a hostile member would
 * inflate), and the result is handed to the inner strategy as one update of the total weight.
 *
 * Limits: with G groups, a trimmed mean that drops `trim` from each end tolerates `trim` hostile
 * groups per coordinate; the median tolerates fewer than G / 2. Below `minGroups` groups the
 * wrapper falls back to the inner strategy's weighted mean (nothing to trim).
 */
import { check } from '../errors.js';
import type { Weights } from '../types.js';
import type { UpdateResult } from './aggregate.js';
import type { ServerState, Strategy, TrainConfig } from './strategy.js';

export type RobustRule = 'median' | 'trimmed';

export interface RobustOptions {
  readonly rule: RobustRule;
  /** Group means dropped from each end per coordinate (trimmed mean only); default 1. */
  readonly trim?: number;
  /** Fewest groups the rule is applied to; default 2 * trim + 1 (median: 3). */
  readonly minGroups?: number;
}

/** Coordinate-wise median of equal-length vectors (the mean of the middle two for an even count). */
export function coordinateMedian(vectors: readonly Weights[]): Weights {
  return coordinateTrimmedMean(vectors, Math.floor((vectors.length - 1) / 2));
}

/**
 * Coordinate-wise trimmed mean: per coordinate, sort the values, drop `trim` from each end and
 * average the rest. Requires 2 * trim < count and equal lengths.
 */
export function coordinateTrimmedMean(vectors: readonly Weights[], trim: number): Weights {
  const n = vectors.length;
  check(n >= 1, 'CONFIG', 'a trimmed mean of nothing');
  check(Number.isInteger(trim) && trim >= 0, 'CONFIG', `trim must be an integer >= 0, got ${trim}`);
  check(2 * trim < n, 'CONFIG', `cannot trim ${trim} from each end of ${n} values`);
  const d = vectors[0]!.length;
  for (const v of vectors) check(v.length === d, 'VECTOR_LENGTH', `${v.length} != ${d}`);
  const out = new Float32Array(d);
  const col = new Float64Array(n);
  const keep = n - 2 * trim;
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < n; k++) col[k] = vectors[k]![i]!;
    col.sort();
    let s = 0;
    for (let k = trim; k < n - trim; k++) s += col[k]!;
    out[i] = s / keep;
  }
  return out;
}

export class RobustAggregation implements Strategy {
  readonly name: string;
  private readonly trim: number;
  private readonly minGroups: number;

  constructor(
    private readonly inner: Strategy,
    private readonly opts: RobustOptions,
  ) {
    check(opts.rule === 'median' || opts.rule === 'trimmed', 'CONFIG', `unknown rule ${opts.rule}`);
    this.trim = opts.trim ?? 1;
    check(Number.isInteger(this.trim) && this.trim >= 1, 'CONFIG', 'trim must be an integer >= 1');
    this.minGroups = opts.minGroups ?? (opts.rule === 'median' ? 3 : 2 * this.trim + 1);
    check(
      opts.rule === 'median' ? this.minGroups >= 3 : this.minGroups > 2 * this.trim,
      'CONFIG',
      `minGroups ${this.minGroups} leaves nothing after trimming`,
    );
    this.name = `${opts.rule === 'median' ? 'median' : `trimmed${this.trim}`}(${inner.name})`;
  }

  configureTrain(round: number): TrainConfig {
    return this.inner.configureTrain(round);
  }

  /** The robust combination of the group means alone (what aggregateTrain hands the inner strategy). */
  combine(results: readonly UpdateResult[]): UpdateResult[] {
    if (results.length < this.minGroups) return [...results];
    const deltas = results.map((r) => r.delta);
    const delta =
      this.opts.rule === 'median'
        ? coordinateMedian(deltas)
        : coordinateTrimmedMean(deltas, this.trim);
    const weight = results.reduce((s, r) => s + r.weight, 0);
    const clients = results.reduce((s, r) => s + (r.clients ?? 1), 0);
    return [{ delta, weight, clients }];
  }

  aggregateTrain(
    global: Weights,
    results: readonly UpdateResult[],
    state: ServerState,
  ): { weights: Weights; state: ServerState } {
    return this.inner.aggregateTrain(global, this.combine(results), state);
  }
}
