/**
 * The influence bound of a group sum: what honest, clipped members can produce at most, checked
 * on every unmasked group sum before it touches the model (docs/threat-model.md, "A hostile participant": "a group sum
 * impossible for clipped members is rejected").
 *
 * Member i encodes q_i = round(w_i · scale · x_i) with ||x_i||_2 <= clip, 1 <= w_i <= maxWeight,
 * and stochastic rounding moves each of its d coordinates by less than 1. So the group's d
 * parameter words, read as int32, satisfy
 *   ||Σ q_i||_2 <= Σ ||q_i||_2 < W · scale · clip + n · sqrt(d),     W = Σ w_i (the weight word),
 * and the weight word itself lies in [n, n · maxWeight] and equals the weights members declared.
 * A sum outside these bounds cannot come from honest members, whatever their data: one member
 * sent words it was not allowed to (e.g. 0x7fffffff everywhere, which moved a model's largest
 * weight from 0.16 to 5.2e5 before this check). Inside them, one member moves its group's mean
 * by at most its weight share times clip, which is what the weight cap and robust aggregation
 * over group means (strategy/robust.ts) then bound further.
 */
import { check } from './errors.js';
import type { QuantConfig } from './quantize.js';
import type { Quantized } from './types.js';

export interface GroupSumCheck {
  /** Members whose inputs are in the sum. */
  readonly members: number;
  /** The sum of the sample weights the members declared, when the caller knows them. */
  readonly declaredWeight?: number;
}

/** The largest L2 norm (in quantized units) honest members can give a group sum of weight W. */
export function sumNormBound(cfg: QuantConfig, totalWeight: number, members: number, d: number) {
  return totalWeight * cfg.scale * cfg.clip + members * Math.sqrt(d);
}

/**
 * Throws OUT_OF_BOUNDS (with the violated bound in the message) when `sum` (d parameter words
 * then the weight word) cannot be the sum of `members` honest clipped updates under `cfg`.
 */
export function checkGroupSum(sum: Quantized, cfg: QuantConfig, c: GroupSumCheck): void {
  check(sum.length >= 2, 'VECTOR_LENGTH', 'a group sum needs parameters and a weight word');
  check(Number.isInteger(c.members) && c.members >= 1, 'CONFIG', 'members must be >= 1');
  const d = sum.length - 1;
  const w = sum[d]!;
  check(
    w >= c.members && w <= c.members * cfg.maxWeight,
    'OUT_OF_BOUNDS',
    `weight word ${w} outside [${c.members}, ${c.members} x ${cfg.maxWeight}] for ${c.members} members`,
  );
  if (c.declaredWeight !== undefined) {
    check(
      w === c.declaredWeight,
      'OUT_OF_BOUNDS',
      `weight word ${w} differs from the ${c.declaredWeight} samples the members declared`,
    );
  }
  let sq = 0;
  for (let i = 0; i < d; i++) {
    const x = sum[i]! | 0;
    sq += x * x;
  }
  const norm = Math.sqrt(sq);
  const bound = sumNormBound(cfg, w, c.members, d);
  // 1e-9 relative: float64 rounding of the sum of squares, never an honest sum's real excess.
  check(
    norm <= bound * (1 + 1e-9),
    'OUT_OF_BOUNDS',
    `group sum has L2 norm ${norm.toExponential(3)} > ${bound.toExponential(3)}, the most ${c.members} clipped members of total weight ${w} can reach`,
  );
}
