import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { AuthService } from './auth.service.js';

@Controller('auth')
export class AuthController {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  /** EIP-712 challenge for `address`; sign it and connect to `/agents` with `{ address, nonce, signature }`. */
  @Post('challenge')
  @HttpCode(200)
  challenge(@Body() body: { address?: unknown }) {
    return this.auth.challenge(body?.address);
  }
}
