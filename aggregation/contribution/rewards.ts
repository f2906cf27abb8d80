/**
 * Reward allocation in integer token units: reward_i = budget * max(0, φ_i) / Σ max(0, φ),
 * rounded down, with the remainder handed out one unit at a time by largest remainder (ties to
 * the smaller id). The result sums exactly to the budget when anyone scored above zero, and is
 * computed only with exact integer arithmetic after one fixed conversion of each score, so an
 * auditor reproduces it bit for bit from the published scores.
 */
import { check } from '../errors.js';
import type { ClientId } from '../types.js';

/** Fixed-point score as published on chain: round(score * 10^decimals). */
export function toFixedScore(score: number, decimals = 9): bigint {
  check(Number.isFinite(score), 'CONFIG', 'score must be finite');
  return BigInt(Math.round(score * 10 ** decimals));
}

/**
 * Splits `budget` over fixed-point scores. Zero or negative scores get nothing. When nobody
 * scored above zero every reward is 0 (the budget stays in escrow).
 */
export function allocateRewards(
  budget: bigint,
  scores: ReadonlyMap<ClientId, bigint> | Iterable<readonly [ClientId, bigint]>,
): Map<ClientId, bigint> {
  check(budget >= 0n, 'CONFIG', 'budget must be >= 0');
  const entries = [...scores].map(([id, s]) => [id, s > 0n ? s : 0n] as const);
  check(new Set(entries.map(([id]) => id)).size === entries.length, 'CONFIG', 'duplicate ids');
  const total = entries.reduce((s, [, p]) => s + p, 0n);
  const out = new Map<ClientId, bigint>(entries.map(([id]) => [id, 0n]));
  if (total === 0n) return out;
  let given = 0n;
  const rema: { id: ClientId; rem: bigint }[] = [];
  for (const [id, p] of entries) {
    const share = (budget * p) / total;
    out.set(id, share);
    given += share;
    if (p > 0n) rema.push({ id, rem: (budget * p) % total });
  }
  rema.sort((a, b) =>
    a.rem > b.rem ? -1 : a.rem < b.rem ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  for (let k = 0; given < budget; k++, given++) {
    const r = rema[k % rema.length]!;
    out.set(r.id, out.get(r.id)! + 1n);
  }
  return out;
}
