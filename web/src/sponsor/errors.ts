/**
 * One error shape for every Sponsor-page action: a code the user (or a test) can act on and a
 * message. Contract reverts arrive decoded by contracts/errors.ts (`InsufficientAllowance`,
 * `NotForSale`, `AlreadyRated`, …), the aggregator's refusals with its codes (`BOUNTY_MISMATCH`,
 * `TOO_LARGE`, …), a bad CSV with the data loader's codes and line.
 */
import { isError } from 'ethers';
import { DataError } from '../../../client-agent/data/errors.js';
import { ChainError, toChainError } from '../../../contracts/errors.js';
import { ApiError } from '../api.js';

export class ActionError extends Error {
  override readonly name = 'ActionError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Described {
  code: string;
  message: string;
}

const rejected = (e: unknown): boolean =>
  isError(e, 'ACTION_REJECTED') || isError((e as { cause?: unknown })?.cause, 'ACTION_REJECTED');

export function describeError(e: unknown): Described {
  if (rejected(e)) return { code: 'REJECTED', message: 'the wallet refused to sign' };
  if (e instanceof ChainError || e instanceof ActionError || e instanceof ApiError)
    return { code: e.code, message: e.message };
  if (e instanceof DataError)
    return {
      code: e.code,
      message: e.row !== undefined ? `${e.message} (line ${e.row})` : e.message,
    };
  // Anything ethers threw outside the typed helpers: decode a revert if there is one.
  const c = toChainError(e);
  return { code: c.code, message: c.message };
}
