/**
 * Pure aggregation functions over Float32Array updates. Each states its preconditions and
 * checks them; none keeps state or does I/O. Under secure aggregation the server only has
 * group sums, so order statistics apply over group means only (strategy/robust.ts), never over
 * individual updates.
 */
import { check } from '../errors.js';
import type { Weights } from '../types.js';

/** One aggregated result: a (group's) sample-weighted mean update and its total weight. */
export interface UpdateResult {
  readonly delta: Weights;
  /** Total sample weight behind `delta` (> 0). */
  readonly weight: number;
  /** Clients whose updates are in `delta` (for privacy accounting); defaults to 1. */
  readonly clients?: number;
}

/** sum_k w_k x_k / sum_k w_k. Requires >= 1 result, equal lengths, finite positive weights. */
export function weightedMean(results: readonly UpdateResult[]): Weights {
  check(results.length > 0, 'CONFIG', 'weightedMean of nothing');
  const d = results[0]!.delta.length;
  let total = 0;
  for (const r of results) {
    check(r.delta.length === d, 'VECTOR_LENGTH', `update of ${r.delta.length} != ${d}`);
    check(
      Number.isFinite(r.weight) && r.weight > 0,
      'CONFIG',
      `weight must be > 0, got ${r.weight}`,
    );
    total += r.weight;
  }
  const acc = new Float64Array(d);
  for (const r of results) {
    const f = r.weight / total;
    for (let i = 0; i < d; i++) acc[i]! += r.delta[i]! * f;
  }
  return Float32Array.from(acc);
}

/** x + eta * delta, as a new vector. */
export function applyUpdate(global: Weights, delta: Weights, eta = 1): Weights {
  check(global.length === delta.length, 'VECTOR_LENGTH', `${global.length} != ${delta.length}`);
  const out = new Float32Array(global.length);
  for (let i = 0; i < out.length; i++) out[i] = global[i]! + eta * delta[i]!;
  return out;
}
