/**
 * The sponsor's validation set in its canonical encoding (defined in aggregation/spec.ts, shared
 * with the CLI that hashes it); decoding errors become the server's BAD_REQUEST.
 */
import {
  AggregationError,
  decodeValidation as decode,
  type ValidationSet,
} from '../../aggregation/index.js';
import { ProtocolError } from '../errors.js';

export { encodeValidation, validationHash, type ValidationSet } from '../../aggregation/index.js';

export function decodeValidation(buf: Uint8Array): ValidationSet {
  try {
    return decode(buf);
  } catch (e) {
    if (e instanceof AggregationError) throw new ProtocolError('BAD_REQUEST', e.message);
    throw e;
  }
}
