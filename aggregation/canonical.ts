/**
 * Canonical JSON, the one serialisation every hash over a structured value is taken of (the bounty
 * spec, the round record's fields). On its own, without spec.ts's Buffer-based encodings, so that
 * code running in a browser (the web app's audit) can hash exactly as the aggregator does.
 */

/** JSON with object keys sorted at every level (bigints as decimal strings): one string per value. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, (v as Record<string, unknown>)[k]]),
      );
    }
    return v;
  });
}
