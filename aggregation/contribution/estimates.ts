/**
 * From group values to per-person estimates. The server only sees group sums, so a group's
 * Shapley value is split among its members by sample weight; groups are re-drawn every round,
 * so each person's running mean across rounds separates good data from bad.
 */
import { check } from '../errors.js';
import type { ClientId } from '../types.js';

export interface GroupValue {
  readonly value: number;
  readonly members: readonly { readonly id: ClientId; readonly weight: number }[];
}

/** This round's per-person scores: the group value times each member's share of its weight. */
export function personScores(groups: readonly GroupValue[]): Map<ClientId, number> {
  const out = new Map<ClientId, number>();
  for (const g of groups) {
    check(Number.isFinite(g.value), 'CONFIG', 'group value must be finite');
    const total = g.members.reduce((s, m) => s + m.weight, 0);
    check(total > 0, 'CONFIG', 'a group needs positive total weight');
    for (const m of g.members) {
      check(!out.has(m.id), 'CONFIG', `${m.id} is in two groups`);
      check(m.weight >= 0, 'CONFIG', `negative weight for ${m.id}`);
      out.set(m.id, (g.value * m.weight) / total);
    }
  }
  return out;
}

export interface Estimate {
  readonly mean: number;
  readonly rounds: number;
}

/**
 * Folds one round's scores into the running estimates (a new map; the old one is unchanged).
 * alpha undefined: the plain mean over the rounds a person took part in; otherwise an
 * exponential moving average with that weight on the new score.
 */
export function updateEstimates(
  prev: ReadonlyMap<ClientId, Estimate>,
  scores: ReadonlyMap<ClientId, number>,
  alpha?: number,
): Map<ClientId, Estimate> {
  check(alpha === undefined || (alpha > 0 && alpha <= 1), 'CONFIG', 'alpha must be in (0, 1]');
  const next = new Map(prev);
  for (const [id, score] of scores) {
    const e = prev.get(id);
    if (!e) next.set(id, { mean: score, rounds: 1 });
    else {
      const a = alpha ?? 1 / (e.rounds + 1);
      next.set(id, { mean: e.mean + a * (score - e.mean), rounds: e.rounds + 1 });
    }
  }
  return next;
}
