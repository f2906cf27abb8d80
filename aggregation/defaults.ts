/** Defaults a bounty spec may leave out (spec.ts documents the fields; browser-safe). */

/** The weight cap of a spec that names none. */
export const DEFAULT_WEIGHT_CAP = 1 << 14;
/** Fewest groups the default trimmed mean applies to (below it, trimming 2 of 4 throws away half). */
export const DEFAULT_ROBUST_MIN_GROUPS = 5;
