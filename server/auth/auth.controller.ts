import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { AuthService } from './auth.service.js';

interface Req {
  ip?: string;
  secure?: boolean;
  headers: Record<string, string | string[] | undefined>;
}

@Controller('auth')
export class AuthController {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  /** EIP-712 challenge for `address`; sign it and connect to `/agents` with `{ address, nonce, signature }`. */
  @Post('challenge')
  @HttpCode(200)
  challenge(@Body() body: { address?: unknown }, @Req() req: Req) {
    const host = req.headers.host;
    return this.auth.challenge(body?.address, {
      ip: req.ip ?? 'unknown',
      host: typeof host === 'string' ? host : undefined,
      secure: req.secure,
    });
  }
}
