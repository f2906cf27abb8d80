/**
 * t-of-n secret sharing through `shamir-secret-sharing` (audited, GF(2^8) per byte; each share
 * is the secret's length + 1 byte holding its x coordinate). The library silently returns a
 * wrong secret when given fewer than t shares, so callers must check every reconstruction
 * against a commitment or a public key (see server.ts).
 */
import { combine, split } from 'shamir-secret-sharing';
import { check } from '../errors.js';

export const SHARE_BYTES = 33;

export async function splitSecret(
  secret: Uint8Array,
  holders: number,
  threshold: number,
): Promise<Uint8Array[]> {
  check(holders >= 2 && holders <= 255, 'CONFIG', `share holders must be 2..255, got ${holders}`);
  check(
    threshold >= 2 && threshold <= holders,
    'CONFIG',
    `threshold must be 2..${holders}, got ${threshold}`,
  );
  return split(new Uint8Array(secret), holders, threshold);
}

export async function combineShares(
  shares: readonly Uint8Array[],
  threshold: number,
): Promise<Uint8Array> {
  check(
    shares.length >= threshold,
    'BELOW_THRESHOLD',
    `${shares.length} shares < threshold ${threshold}`,
  );
  const xs = new Set(shares.map((s) => s[s.length - 1]));
  check(xs.size === shares.length, 'BAD_SHARE', 'two shares with the same x coordinate');
  return combine(shares.map((s) => new Uint8Array(s)));
}

/** One share of a secret and who handed it in. */
export interface HeldShare {
  readonly holder: string;
  readonly share: Uint8Array;
}

/** Most t-subsets tried before a reconstruction is given up (C(13, 7) = 1716 fits). */
export const MAX_SUBSETS = 4096;

/**
 * Reconstructs a secret from shares of which some may be garbage, checking every candidate with
 * `valid` (a commitment or a public key). All shares together come first (the honest case: one
 * interpolation); if that fails, every t-subset in turn until one passes, then each remaining
 * share is tested against t - 1 shares of the good subset. Returns the secret and the holders
 * whose shares are off the polynomial, or null when no subset passes (fewer than t good shares,
 * or more than MAX_SUBSETS subsets): a bad share is outvoted while t good ones remain.
 */
export async function robustCombine(
  shares: readonly HeldShare[],
  threshold: number,
  valid: (secret: Uint8Array) => boolean,
): Promise<{ secret: Uint8Array; bad: string[] } | null> {
  check(
    shares.length >= threshold,
    'BELOW_THRESHOLD',
    `${shares.length} shares < threshold ${threshold}`,
  );
  // Shares with a repeated x coordinate cannot both be right; the subset search sorts them out.
  const distinct = new Set(shares.map((s) => s.share[s.share.length - 1])).size === shares.length;
  if (distinct) {
    const all = await combine(shares.map((s) => new Uint8Array(s.share)));
    if (valid(all)) return { secret: all, bad: [] };
  }
  const n = shares.length;
  const idx = Array.from({ length: threshold }, (_, i) => i);
  for (let tries = 0; tries < MAX_SUBSETS; tries++) {
    const subset = idx.map((i) => shares[i]!);
    if (new Set(subset.map((s) => s.share[s.share.length - 1])).size === threshold) {
      const secret = await combine(subset.map((s) => new Uint8Array(s.share)));
      if (valid(secret)) {
        const base = subset.slice(0, threshold - 1).map((s) => new Uint8Array(s.share));
        const bad: string[] = [];
        for (let i = 0; i < n; i++) {
          if (idx.includes(i)) continue;
          const s = shares[i]!;
          const x = s.share[s.share.length - 1];
          const clash = base.some((b) => b[b.length - 1] === x);
          const ok = !clash && valid(await combine([...base, new Uint8Array(s.share)]));
          if (!ok) bad.push(s.holder);
        }
        return { secret, bad: bad.sort() };
      }
    }
    // Next t-subset in lexicographic order.
    let k = threshold - 1;
    while (k >= 0 && idx[k] === n - threshold + k) k--;
    if (k < 0) return null;
    idx[k]!++;
    for (let j = k + 1; j < threshold; j++) idx[j] = idx[j - 1]! + 1;
  }
  return null;
}
