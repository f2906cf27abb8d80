/** Defaults a bounty spec may leave out (spec.ts documents the fields; browser-safe). */

/** The weight cap of a spec that names none. */
export const DEFAULT_WEIGHT_CAP = 1 << 14;
/** Fewest groups the default trimmed mean applies to (below it, trimming 2 of 4 throws away half). */
export const DEFAULT_ROBUST_MIN_GROUPS = 5;

/** The mask PRGs a spec may name (prg.ts defines each expansion). */
export const PRG_NAMES = ['aes-128-ctr', 'chacha20'] as const;
export type PrgName = (typeof PRG_NAMES)[number];
/**
 * The PRG new bounties name: AES-128-CTR, the faster keystream in the aggregation benchmark
 * (`keystream_ms_*`, `prg_keystream_speedup`) and native in browsers' Web Crypto.
 */
export const DEFAULT_PRG: PrgName = 'aes-128-ctr';
/** The PRG of a spec that names none (specs written before the field, whose hashes stay put). */
export function specPrg(spec: { prg?: PrgName }): PrgName {
  return spec.prg ?? 'chacha20';
}
