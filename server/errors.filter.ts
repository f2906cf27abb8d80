import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import { ProtocolError, toErrorBody, type ErrorCode } from './errors.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  BAD_SIGNATURE: 401,
  UNAUTHENTICATED: 401,
  CHALLENGE_EXPIRED: 401,
  NO_LICENCE: 403,
  NOT_FOUND: 404,
  DUPLICATE: 409,
  TOO_LARGE: 413,
  RATE_LIMITED: 429,
  BOUNTY_NOT_FUNDED: 422,
  BOUNTY_MISMATCH: 422,
};

/**
 * Errors of the JSON body parser (http-errors with `type`): a body over the limit is TOO_LARGE,
 * malformed JSON or an unsupported charset BAD_REQUEST; never a 500.
 */
export function bodyParserError(
  err: unknown,
): { status: number; code: ErrorCode; message: string } | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { type?: unknown; status?: unknown; message?: unknown };
  if (typeof e.type !== 'string' || typeof e.status !== 'number') return undefined;
  if (e.type === 'entity.too.large') {
    return { status: 413, code: 'TOO_LARGE', message: 'request body too large' };
  }
  if (e.status >= 400 && e.status < 500) {
    return { status: e.status, code: 'BAD_REQUEST', message: String(e.message) };
  }
  return undefined;
}

/** REST errors in the same `{ error: { code, message } }` shape as the socket acknowledgements. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('Http');

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<{
      status(n: number): { json(b: unknown): void };
      setHeader(k: string, v: string): void;
    }>();
    if (err instanceof ProtocolError) {
      const retry = (err as { retryAfterS?: unknown }).retryAfterS;
      if (typeof retry === 'number') res.setHeader('retry-after', String(retry));
      res.status(STATUS[err.code] ?? 400).json(toErrorBody(err));
      return;
    }
    const parser = bodyParserError(err);
    if (parser) {
      res.status(parser.status).json({ error: parser });
      return;
    }
    if (err instanceof HttpException) {
      const status = err.getStatus();
      res.status(status).json({
        error: { code: status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', message: err.message },
      });
      return;
    }
    this.log.error(err);
    res.status(500).json(toErrorBody(err));
  }
}
