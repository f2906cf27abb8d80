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
