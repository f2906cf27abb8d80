/**
 * An INSERT that may race a twin (the same message sent several times at once, say) meets the
 * unique key; that is the client's duplicate, not a server fault: DUPLICATE, nothing changed.
 */

/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null;
  return e?.code === UNIQUE_VIOLATION || e?.driverError?.code === UNIQUE_VIOLATION;
}
