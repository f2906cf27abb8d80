/**
 * Typed protocol errors. Every rejection a client can see carries one of these codes so that the
 * client can act on it (retry later, re-sign, give up on the round) without parsing prose.
 */
export const ErrorCodes = [
  'BAD_REQUEST',
  'BAD_SIGNATURE',
  'CHALLENGE_EXPIRED',
  'UNAUTHENTICATED',
  'NOT_FOUND',
  'NOT_JOINED',
  'NOT_IN_ROUND',
  'NOT_IN_GROUP',
  'STAGE_CLOSED',
  'WRONG_STAGE',
  'DUPLICATE',
  'VECTOR_LENGTH',
  'BOUNTY_NOT_FUNDED',
  'BOUNTY_MISMATCH',
  'NO_LICENCE',
  /** A body, frame or model larger than this server accepts. */
  'TOO_LARGE',
  /** Too many requests of one kind from one address or wallet (REST: with `Retry-After`). */
  'RATE_LIMITED',
  /** Told to a socket when a newer sign-in of the same wallet takes its place. */
  'SESSION_REPLACED',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Wire form of an error, as sent in Socket.IO acknowledgements and REST bodies. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof ProtocolError) return { error: { code: err.code, message: err.message } };
  return { error: { code: 'INTERNAL', message: 'internal error' } };
}
