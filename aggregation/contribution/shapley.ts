/**
 * Shapley values over groups (Shapley 1953): φ_g = Σ_{S ⊆ N\{g}} |S|!(n-|S|-1)!/n! (U(S∪g) - U(S)).
 * Coalitions are bit masks over n players. Exact computation needs all 2^n utilities, so it is
 * used up to `EXACT_MAX_PLAYERS`; beyond that, truncated Monte-Carlo permutation sampling
 * (Ghorbani & Zou 2019, "Data Shapley", Alg. 1) estimates them.
 */
import { check } from '../errors.js';
import { makeRng, shuffled, type Rng } from '../rng.js';

export const EXACT_MAX_PLAYERS = 16;

export type Utility = (coalition: number) => number | Promise<number>;

/** Evaluates U on every coalition (2^n values, index = bit mask). */
export async function allUtilities(n: number, utility: Utility): Promise<Float64Array> {
  check(
    Number.isInteger(n) && n >= 1 && n <= EXACT_MAX_PLAYERS,
    'CONFIG',
    `exact Shapley needs 1..${EXACT_MAX_PLAYERS} players`,
  );
  const values = new Float64Array(1 << n);
  for (let mask = 0; mask < 1 << n; mask++) values[mask] = await utility(mask);
  return values;
}

function popcount(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}

/** Exact Shapley values from the utilities of all 2^n coalitions. */
export function exactShapley(values: Float64Array): Float64Array {
  const n = Math.round(Math.log2(values.length));
  check(values.length === 1 << n && n >= 1, 'CONFIG', 'need the utilities of all 2^n coalitions');
  // weight[s] = s!(n-s-1)!/n!
  const fact = [1];
  for (let i = 1; i <= n; i++) fact.push(fact[i - 1]! * i);
  const weight = Array.from({ length: n }, (_, s) => (fact[s]! * fact[n - s - 1]!) / fact[n]!);
  const phi = new Float64Array(n);
  for (let mask = 0; mask < values.length; mask++) {
    const w = weight[popcount(mask)];
    for (let g = 0; g < n; g++) {
      if (mask & (1 << g)) continue;
      phi[g]! += w! * (values[mask | (1 << g)]! - values[mask]!);
    }
  }
  return phi;
}

export interface SampledShapleyOptions {
  permutations?: number;
  /** Stop a permutation once |U(all) - U(prefix)| falls below this (truncation). */
  tolerance?: number;
  rng?: Rng;
}

/** Truncated Monte-Carlo Shapley: averages marginal contributions along random permutations. */
export async function sampledShapley(
  n: number,
  utility: Utility,
  opts: SampledShapleyOptions = {},
): Promise<Float64Array> {
  check(
    Number.isInteger(n) && n >= 1 && n <= 30,
    'CONFIG',
    'sampled Shapley supports 1..30 players',
  );
  const permutations = opts.permutations ?? 50 * n;
  const tolerance = opts.tolerance ?? 0;
  const rng = opts.rng ?? makeRng();
  const cache = new Map<number, number>();
  const u = async (m: number) => {
    let v = cache.get(m);
    if (v === undefined) cache.set(m, (v = await utility(m)));
    return v;
  };
  const full = await u((1 << n) - 1);
  const phi = new Float64Array(n);
  const players = Array.from({ length: n }, (_, i) => i);
  for (let p = 0; p < permutations; p++) {
    let mask = 0;
    let prev = await u(0);
    for (const g of shuffled(players, rng)) {
      if (Math.abs(full - prev) < tolerance) break; // the rest add ~nothing
      mask |= 1 << g;
      const cur = await u(mask);
      phi[g]! += cur - prev;
      prev = cur;
    }
  }
  for (let g = 0; g < n; g++) phi[g]! /= permutations;
  return phi;
}

/** Exact when the players fit, sampled otherwise. */
export async function shapley(
  n: number,
  utility: Utility,
  opts: SampledShapleyOptions = {},
): Promise<Float64Array> {
  return n <= 8 ? exactShapley(await allUtilities(n, utility)) : sampledShapley(n, utility, opts);
}
