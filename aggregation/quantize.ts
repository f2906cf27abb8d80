/**
 * From float updates to words that secure aggregation can add, and back.
 *
 * A client clips its update to L2 norm <= `clip`, multiplies by its integer sample weight m,
 * scales by 2^k and rounds stochastically (unbiased: E[q] = x), then encodes in Z_{2^32}
 * as two's complement. Its weight m is appended as one more word, so the sum carries
 * sum(m) and survives dropouts consistently. Sums are decoded as int32.
 *
 * No-wrap bound: every coordinate of a clipped update is <= clip in absolute value, so one
 * client's word is <= m*clip*scale + 1 and a sum of n clients stays inside int32 when
 *   n * (maxWeight * clip * scale + 1) <= 2^31 - 1.
 * makeQuantConfig enforces it; a configuration that breaks it is rejected.
 */
import { check } from './errors.js';
import { makeRng, type Rng } from './rng.js';
import type { Quantized, Weights } from './types.js';

export interface QuantConfig {
  /** L2 clipping bound applied to each client's update. */
  readonly clip: number;
  /** Fixed-point scale (a power of two). */
  readonly scale: number;
  /** Most clients whose words one sum may hold. */
  readonly maxClients: number;
  /** Largest integer sample weight a client may encode. */
  readonly maxWeight: number;
}

const INT31 = 2 ** 31 - 1;

/** The largest power-of-two scale that keeps sums of `maxClients` inside int32. */
export function maxScale(clip: number, maxClients: number, maxWeight: number): number {
  const limit = (INT31 / maxClients - 1) / (maxWeight * clip);
  check(limit >= 1, 'CONFIG', `no scale >= 1 fits ${maxClients} clients x weight ${maxWeight}`);
  return 2 ** Math.floor(Math.log2(limit));
}

export function makeQuantConfig(opts: {
  clip: number;
  maxClients: number;
  maxWeight?: number;
  scale?: number;
}): QuantConfig {
  const { clip, maxClients } = opts;
  const maxWeight = opts.maxWeight ?? 1;
  check(Number.isFinite(clip) && clip > 0, 'CONFIG', `clip must be > 0, got ${clip}`);
  check(Number.isInteger(maxClients) && maxClients >= 1, 'CONFIG', 'maxClients must be >= 1');
  check(
    Number.isInteger(maxWeight) && maxWeight >= 1,
    'CONFIG',
    'maxWeight must be an integer >= 1',
  );
  check(
    maxClients * maxWeight <= INT31,
    'CONFIG',
    'maxClients x maxWeight overflows the weight word',
  );
  const scale = opts.scale ?? maxScale(clip, maxClients, maxWeight);
  check(Number.isFinite(scale) && scale > 0, 'CONFIG', `scale must be > 0, got ${scale}`);
  check(
    maxClients * (maxWeight * clip * scale + 1) <= INT31,
    'CONFIG',
    `no-wrap bound broken: ${maxClients} x (${maxWeight} x ${clip} x ${scale} + 1) > 2^31 - 1`,
  );
  return Object.freeze({ clip, scale, maxClients, maxWeight });
}

export function l2norm(w: Float32Array): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i]! * w[i]!;
  return Math.sqrt(s);
}

/** A copy of `w` scaled down to L2 norm <= bound (unchanged when already inside). */
export function clipL2(w: Weights, bound: number): Weights {
  check(bound > 0, 'CONFIG', 'clipping bound must be > 0');
  const norm = l2norm(w);
  const out = new Float32Array(w);
  if (norm > bound) {
    // Math.fround can round up past the bound; shrink by one ulp-ish margin.
    const f = (bound / norm) * (1 - 1e-6);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! * f;
  }
  return out;
}

/**
 * Encodes a client's update for secure aggregation: d words of round(clip(delta) * m * scale),
 * stochastically rounded, then one word holding m.
 */
export function encodeUpdate(
  delta: Weights,
  weight: number,
  cfg: QuantConfig,
  rng: Rng = makeRng(),
): Quantized {
  check(
    Number.isInteger(weight) && weight >= 0 && weight <= cfg.maxWeight,
    'CONFIG',
    `sample weight must be an integer in [0, ${cfg.maxWeight}], got ${weight}`,
  );
  for (let i = 0; i < delta.length; i++) {
    check(Number.isFinite(delta[i]!), 'CONFIG', `update has a non-finite value at ${i}`);
  }
  const clipped = clipL2(delta, cfg.clip);
  const out = new Uint32Array(delta.length + 1);
  const f = weight * cfg.scale;
  for (let i = 0; i < clipped.length; i++) {
    const x = clipped[i]! * f;
    const lo = Math.floor(x);
    out[i] = (lo + (rng() < x - lo ? 1 : 0)) >>> 0;
  }
  out[delta.length] = weight;
  return out;
}

/** Decodes a sum of encoded updates: the sample-weighted mean update and the total weight. */
export function decodeSum(
  sum: Quantized,
  cfg: QuantConfig,
): { mean: Weights; totalWeight: number } {
  check(sum.length >= 1, 'VECTOR_LENGTH', 'empty sum');
  const d = sum.length - 1;
  const totalWeight = sum[d]!;
  const mean = new Float32Array(d);
  if (totalWeight === 0) return { mean, totalWeight };
  const f = 1 / (cfg.scale * totalWeight);
  for (let i = 0; i < d; i++) mean[i] = (sum[i]! | 0) * f;
  return { mean, totalWeight };
}

/** Plain sum of word vectors mod 2^32 (the reference secure aggregation must equal). */
export function sumWords(vectors: readonly Quantized[]): Quantized {
  check(vectors.length > 0, 'VECTOR_LENGTH', 'nothing to sum');
  const out = new Uint32Array(vectors[0]!.length);
  for (const v of vectors) {
    check(v.length === out.length, 'VECTOR_LENGTH', `${v.length} != ${out.length}`);
    for (let i = 0; i < out.length; i++) out[i] = (out[i]! + v[i]!) >>> 0;
  }
  return out;
}
