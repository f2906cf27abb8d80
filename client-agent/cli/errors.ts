/**
 * Every failure the CLI reports carries a code a script can act on and maps to an exit code:
 * 2 for bad input (usage, arguments, keys, data files, unknown bounties), 1 for everything else
 * (a failed check such as a hash mismatch or a failed audit, an unreachable server or chain).
 */
import { ChainError } from '../../contracts/index.js';
import { DataError } from '../data/errors.js';
import { ProtocolError } from '../protocol/index.js';

export type CliErrorCode =
  | 'USAGE'
  | 'BAD_ARGUMENT'
  | 'BAD_KEY'
  | 'NO_WALLET'
  | 'NO_DEPLOYMENT'
  | 'NO_SERVER'
  | 'UNKNOWN_BOUNTY'
  | 'BAD_MODEL_SPEC'
  | 'BAD_RECORD'
  | 'DATA_SHAPE'
  | 'NO_MODEL'
  | 'NO_LICENCE'
  | 'HASH_MISMATCH'
  /** The server's copy of a bounty does not match the chain (e.g. its spec's hash). */
  | 'BOUNTY_MISMATCH'
  | 'AUDIT_FAILED'
  | 'RECORD_UNAVAILABLE'
  | 'SERVER_UNREACHABLE'
  | 'SERVER_UNSUPPORTED'
  | 'SERVER_ERROR'
  | 'CHAIN_UNREACHABLE'
  | 'TIMEOUT'
  | 'INSUFFICIENT_FUNDS'
  | 'NOTHING_TO_CLAIM'
  | 'NONCE_CONFLICT'
  | 'BOUNTY_CLOSED'
  | 'INTERRUPTED';

/** Codes that mean "the input was wrong": exit code 2. */
const INPUT_CODES: ReadonlySet<string> = new Set([
  'USAGE',
  'BAD_ARGUMENT',
  'BAD_KEY',
  'NO_WALLET',
  'NO_DEPLOYMENT',
  'NO_SERVER',
  'UNKNOWN_BOUNTY',
  'BAD_MODEL_SPEC',
  'BAD_RECORD',
  'DATA_SHAPE',
  // client-agent/data codes
  'IDX_BAD_MAGIC',
  'IDX_TRUNCATED',
  'IDX_MISMATCH',
  'CSV_EMPTY',
  'CSV_BAD_HEADER',
  'CSV_BAD_VALUE',
  'CSV_BAD_LABEL',
  'CSV_COLUMN_COUNT',
  'DATASET_UNAVAILABLE',
  'DATASET_UNKNOWN',
  'FILE_NOT_FOUND',
]);

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    /** A CliErrorCode, or the code of the error it wraps (a contract error name, a data error). */
    readonly code: string,
    message: string,
    /** Extra machine-readable detail for `--json` output. */
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
  }

  get exitCode(): number {
    return INPUT_CODES.has(this.code) ? 2 : 1;
  }
}

export function fail(code: CliErrorCode, message: string, detail?: Record<string, unknown>): never {
  throw new CliError(code, message, detail);
}

/** Maps anything thrown below the CLI to a CliError with a code; never exposes a stack. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ChainError) {
    if (err.code === 'UnknownBounty') {
      return new CliError('UNKNOWN_BOUNTY', `no bounty ${String(err.args[0])} on chain`);
    }
    if (err.code === 'CHAIN_FAILURE' && /ECONNREFUSED|fetch failed|ENOTFOUND/.test(err.message)) {
      return new CliError('CHAIN_UNREACHABLE', 'the chain RPC endpoint does not answer');
    }
    if (/insufficient funds/i.test(err.message)) {
      return new CliError('INSUFFICIENT_FUNDS', 'the wallet has too little ether to pay for gas');
    }
    if (/nonce (too low|has already been used)/i.test(err.message)) {
      return new CliError(
        'NONCE_CONFLICT',
        'another transaction from this wallet got in first; retry',
      );
    }
    // ethers appends the whole request to its messages: keep the sentence.
    const first = (err.message.split('\n')[0] ?? '').replace(
      / \((transaction|action|info|code|data|reason)=.*$/,
      '',
    );
    return new CliError(err.code, `chain: ${first}`);
  }
  if (err instanceof DataError) {
    return new CliError(err.code, err.message, { row: err.row, column: err.column });
  }
  if (err instanceof ProtocolError) return new CliError(err.code, `server: ${err.message}`);
  const e = err as { code?: unknown; message?: unknown; path?: unknown };
  if (e && e.code === 'ENOENT') {
    return new CliError('FILE_NOT_FOUND', `no such file: ${String(e.path ?? '')}`);
  }
  if (e && (e.code === 'ECONNREFUSED' || e.code === 'UND_ERR_CONNECT_TIMEOUT')) {
    return new CliError('SERVER_UNREACHABLE', String(e.message ?? 'connection refused'));
  }
  const message = err instanceof Error ? err.message : String(err);
  if (process.env.TRIBUTARY_DEBUG) console.error(err);
  return new CliError('INTERNAL', message.split('\n')[0] ?? 'unexpected failure');
}
