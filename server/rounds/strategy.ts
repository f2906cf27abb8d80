/**
 * Applies the bounty's server strategy to the global model. The strategies themselves live in
 * `aggregation/strategy`; this adapter only carries their state in and out of Postgres.
 */
import type { BountySpec } from '../db/entities.js';

export function applyStrategy(
  spec: BountySpec['strategy'],
  weights: Float32Array,
  meanUpdate: Float32Array,
  _state: Buffer | null,
): { weights: Float32Array; state: Float32Array | null } {
  if (spec.name !== 'fedavg') throw new Error(`strategy ${spec.name} not available`);
  const lr = spec.params?.serverLr ?? 1;
  const out = new Float32Array(weights.length);
  for (let i = 0; i < out.length; i++) out[i] = weights[i]! + lr * meanUpdate[i]!;
  return { weights: out, state: null };
}
