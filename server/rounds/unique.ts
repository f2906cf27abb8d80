/**
 * A transaction whose INSERT may race a twin: the same stage message sent several times at once
 * passes every check in each transaction (none has committed yet), and all but the first then hit
 * the unique key. That is the client's duplicate, not a server fault: DUPLICATE, nothing changed.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { ProtocolError } from '../errors.js';

/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null;
  return e?.code === UNIQUE_VIOLATION || e?.driverError?.code === UNIQUE_VIOLATION;
}

export async function uniqueTransaction<T>(
  ds: DataSource,
  fn: (em: EntityManager) => Promise<T>,
): Promise<T> {
  try {
    return await ds.transaction(fn);
  } catch (err) {
    if (isUniqueViolation(err)) throw new ProtocolError('DUPLICATE', 'message already received');
    throw err;
  }
}
