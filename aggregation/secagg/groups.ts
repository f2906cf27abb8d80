/**
 * Splits a round's participants at random into groups, each of which runs SecAgg+ on its own
 * and yields one sum. At most `maxGroups` groups (default 8, so that group Shapley values are
 * exact over 2^8 coalitions); never a group below `minGroupSize` (default 3, never 1: a group
 * of one would reveal an individual update).
 */
import { check } from '../errors.js';
import { makeRng, shuffled, type Rng } from '../rng.js';
import type { ClientId } from '../types.js';

export function planGroups(
  participants: readonly ClientId[],
  opts: { minGroupSize?: number; maxGroups?: number; rng?: Rng } = {},
): ClientId[][] {
  const minGroupSize = opts.minGroupSize ?? 3;
  const maxGroups = opts.maxGroups ?? 8;
  check(Number.isInteger(minGroupSize) && minGroupSize >= 2, 'CONFIG', 'minGroupSize must be >= 2');
  check(Number.isInteger(maxGroups) && maxGroups >= 1, 'CONFIG', 'maxGroups must be >= 1');
  check(new Set(participants).size === participants.length, 'CONFIG', 'duplicate participants');
  check(
    participants.length >= minGroupSize,
    'BELOW_THRESHOLD',
    `${participants.length} participants cannot form a group of ${minGroupSize}`,
  );
  const count = Math.min(maxGroups, Math.floor(participants.length / minGroupSize));
  const order = shuffled(participants, opts.rng ?? makeRng());
  const groups: ClientId[][] = Array.from({ length: count }, () => []);
  order.forEach((id, i) => groups[i % count]!.push(id));
  return groups.map((g) => g.sort());
}
