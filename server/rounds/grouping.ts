/** Random split of a round's participants into groups (re-drawn every round). */
import { randomInt } from 'node:crypto';

/** Fisher-Yates with a CSPRNG: the server cannot be nudged into a chosen grouping by join order. */
export function shuffle<T>(items: readonly T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * Splits n participants into as many groups as allowed (at most `maxGroups`) with every group at
 * least `minGroupSize` (never below 3: SecAgg needs a threshold of 2 and a sum of more than one).
 */
export function drawGroups<T>(
  participants: readonly T[],
  minGroupSize: number,
  maxGroups: number,
): T[][] {
  const min = Math.max(3, minGroupSize);
  const count = Math.min(maxGroups, Math.floor(participants.length / min));
  if (count < 1) return [];
  const order = shuffle(participants);
  const groups: T[][] = Array.from({ length: count }, () => []);
  order.forEach((p, i) => groups[i % count]!.push(p));
  return groups;
}
