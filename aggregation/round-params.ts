/**
 * What a round may ask of an agent, derived from the bounty's spec alone (whose hash is on chain),
 * so an agent never takes the aggregator's word for its privacy parameters (docs/threat-model.md, "The aggregator": threat
 * model: "agents check group parameters (t, k, size, clip) against the bounty's spec hash").
 *
 * A round the aggregator announces must have: a group of at least `minGroupSize` (never below 3)
 * distinct members including the agent; k and t exactly `defaultGroupParams(size)` (a smaller t
 * or k would let fewer colluders reconstruct a secret, a larger one lets fewer dropouts fail the
 * group); the spec's clip and weight cap; a scale that keeps the group's sum inside int32
 * (makeQuantConfig's no-wrap bound) for at least the group's size; vectors of the model's
 * parameter count plus the weight word; and the spec's mask PRG (the aggregator cannot move a
 * bounty's masks onto a cipher its sponsor did not choose).
 */
import { check } from './errors.js';
import { makeQuantConfig } from './quantize.js';
import { defaultGroupParams } from './secagg/graph.js';
import { DEFAULT_WEIGHT_CAP, specPrg, type BountySpec, type PrgName } from './spec.js';

export interface AnnouncedGroup {
  readonly members: readonly string[];
  readonly threshold: number;
  readonly neighbours: number;
  readonly dim: number;
  readonly prg: PrgName;
}

export interface AnnouncedQuant {
  readonly clip: number;
  readonly scale: number;
  readonly maxClients: number;
  readonly maxWeight: number;
}

/** Parameters in the model a spec describes (the product of every weight's shape, summed). */
export function specParamCount(spec: Pick<BountySpec, 'weightSpecs'>): number {
  return spec.weightSpecs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
}

/** Throws SPEC_MISMATCH, naming the parameter, when a round breaks the bounty's spec. */
export function checkRoundAgainstSpec(
  spec: BountySpec,
  me: string,
  group: AnnouncedGroup,
  quant: AnnouncedQuant,
): void {
  const n = group.members.length;
  check(new Set(group.members).size === n, 'SPEC_MISMATCH', 'the group lists a member twice');
  check(group.members.includes(me), 'SPEC_MISMATCH', 'the group does not include this agent');
  const minSize = Math.max(3, spec.minGroupSize);
  check(n >= minSize, 'SPEC_MISMATCH', `group of ${n}, the spec asks at least ${minSize}`);
  const want = defaultGroupParams(n);
  check(
    group.neighbours === want.neighbours,
    'SPEC_MISMATCH',
    `k = ${group.neighbours}, a group of ${n} has k = ${want.neighbours}`,
  );
  check(
    group.threshold === want.threshold,
    'SPEC_MISMATCH',
    `t = ${group.threshold}, a group of ${n} has t = ${want.threshold}`,
  );
  check(
    quant.clip === spec.clip,
    'SPEC_MISMATCH',
    `clip ${quant.clip}, the spec says ${spec.clip}`,
  );
  const cap = spec.weightCap ?? DEFAULT_WEIGHT_CAP;
  check(
    quant.maxWeight === cap,
    'SPEC_MISMATCH',
    `weight cap ${quant.maxWeight}, the spec says ${cap}`,
  );
  check(
    quant.maxClients >= n,
    'SPEC_MISMATCH',
    `quantisation sized for ${quant.maxClients} clients, the group has ${n}`,
  );
  try {
    makeQuantConfig({ ...quant });
  } catch (e) {
    check(false, 'SPEC_MISMATCH', `quantisation: ${(e as Error).message}`);
  }
  const dim = specParamCount(spec) + 1;
  check(group.dim === dim, 'SPEC_MISMATCH', `vectors of ${group.dim} words, the model has ${dim}`);
  const prg = specPrg(spec);
  check(group.prg === prg, 'SPEC_MISMATCH', `PRG ${group.prg}, the spec says ${prg}`);
}
