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
  BOUNTY_NOT_FUNDED: 422,
  BOUNTY_MISMATCH: 422,
};

/** REST errors in the same `{ error: { code, message } }` shape as the socket acknowledgements. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('Http');

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<{
      status(n: number): { json(b: unknown): void };
    }>();
    if (err instanceof ProtocolError) {
      res.status(STATUS[err.code] ?? 400).json(toErrorBody(err));
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
