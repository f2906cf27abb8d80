/**
 * Typed errors. Every rejection carries a code a client can act on; nothing is swallowed.
 */
export type ErrorCode =
  /** A message arrived for a stage that is not open (late, early, or already closed). */
  | 'STAGE_CLOSED'
  /** A signature over advertised keys did not verify. */
  | 'BAD_SIGNATURE'
  /** A vector or byte string has the wrong length for this round. */
  | 'VECTOR_LENGTH'
  /** A message failed its schema. */
  | 'BAD_MESSAGE'
  /** The sender already sent this stage's message (replay or duplicate). */
  | 'DUPLICATE'
  /** The message names another round or group. */
  | 'WRONG_ROUND'
  /** The sender is not a member of this group (or not a surviving one). */
  | 'NOT_IN_GROUP'
  /** A share or ciphertext failed to decrypt, or is addressed to someone else. */
  | 'BAD_SHARE'
  /** Too few parties remain to continue or to reconstruct a secret. */
  | 'BELOW_THRESHOLD'
  /** A reconstructed secret does not match its commitment or public key. */
  | 'RECONSTRUCTION_MISMATCH'
  /** The server asked for something the protocol forbids (e.g. both masks of one client). */
  | 'PROTOCOL_VIOLATION'
  /** A configuration breaks a stated precondition (e.g. the no-wrap bound). */
  | 'CONFIG'
  /** A group sum no honest, clipped members could produce (influence.ts). */
  | 'OUT_OF_BOUNDS'
  /** A round's parameters differ from what the bounty's spec fixes (round-params.ts). */
  | 'SPEC_MISMATCH';

export class AggregationError extends Error {
  override readonly name = 'AggregationError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export function fail(code: ErrorCode, message: string): never {
  throw new AggregationError(code, message);
}

export function check(condition: unknown, code: ErrorCode, message: string): asserts condition {
  if (!condition) throw new AggregationError(code, message);
}
