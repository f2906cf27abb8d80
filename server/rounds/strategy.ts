/**
 * Applies the bounty's server strategy (from `aggregation/strategy`) to the global model. The
 * strategy's state (optimiser moments) is carried in and out of Postgres with each model version.
 */
import { strategyFromSpec, type ServerState, type UpdateResult } from '../../aggregation/index.js';
import type { BountySpec } from '../db/entities.js';
import { bytesToWeights, weightsToBytes } from '../models/artifact.js';

/** State bytes: [round as float32][m][v], m and v present only for adaptive optimisers. */
export function encodeState(s: ServerState, n: number): Buffer {
  const out = new Float32Array(1 + (s.m ? 2 * n : 0));
  out[0] = s.round;
  if (s.m && s.v) {
    out.set(s.m, 1);
    out.set(s.v, 1 + n);
  }
  return weightsToBytes(out);
}

export function decodeState(b: Buffer | null, n: number): ServerState {
  if (!b || b.length === 0) return { round: 0 };
  const f = bytesToWeights(b);
  if (f.length === 1 + 2 * n) return { round: f[0]!, m: f.slice(1, 1 + n), v: f.slice(1 + n) };
  return { round: f[0]! };
}

export function applyStrategy(
  spec: Pick<BountySpec, 'strategy' | 'robust'>,
  weights: Float32Array,
  results: UpdateResult[],
  state: Buffer | null,
): { weights: Float32Array; state: Buffer } {
  const next = strategyFromSpec(spec).aggregateTrain(
    weights,
    results,
    decodeState(state, weights.length),
  );
  return { weights: next.weights, state: encodeState(next.state, weights.length) };
}
