/** The audit's own failure: the record cannot be audited at all (malformed, unscorable, doubled). */
export type AuditErrorCode = 'BAD_RECORD';

export class AuditError extends Error {
  override readonly name = 'AuditError';
  constructor(
    readonly code: AuditErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function badRecord(message: string): never {
  throw new AuditError('BAD_RECORD', message);
}
