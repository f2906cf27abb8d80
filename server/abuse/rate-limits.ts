/**
 * Rate limits on what an outsider can make the server do for free: issue sign-in challenges (each
 * a row), verify sign-ins (an ecrecover and a row lock), join bounties (a chain call) and send stage
 * messages (a transaction each). Counters live in Redis (rate-limiter-flexible's atomic Lua
 * counters), so limits hold across instances. Over a limit: RATE_LIMITED, and nothing is done.
 * A Redis failure lets the request through (logged): limits protect the server, they must not stop
 * it.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { ServerConfig } from '../config.js';
import { ProtocolError } from '../errors.js';
import { CONFIG } from '../tokens.js';
import { EdgeRedis } from './redis.js';

export const RATE_KINDS = ['challenge', 'challengeAddress', 'signin', 'join', 'stage'] as const;
export type RateKind = (typeof RATE_KINDS)[number];

/** `points` requests per `seconds`, per key (an IP for challenge and signin, else a wallet). */
export interface RateLimit {
  points: number;
  seconds: number;
}
export type RateLimits = Record<RateKind, RateLimit> | 'off';

/**
 * Defaults: generous enough for a few hundred agents behind one address (a benchmark, a lab's NAT),
 * low enough that one client cannot fill the challenge table or the stage inbox.
 */
export const DEFAULT_RATE_LIMITS: Record<RateKind, RateLimit> = {
  challenge: { points: 1200, seconds: 60 },
  challengeAddress: { points: 30, seconds: 60 },
  signin: { points: 1200, seconds: 60 },
  join: { points: 30, seconds: 60 },
  stage: { points: 600, seconds: 60 },
};

/** `RATE_LIMITS`: `off`, or overrides such as `challenge=100/60,stage=50/10` (points/seconds). */
export function parseRateLimits(v: string | undefined): RateLimits {
  if (!v) return DEFAULT_RATE_LIMITS;
  if (v.trim() === 'off') return 'off';
  const out = { ...DEFAULT_RATE_LIMITS };
  for (const item of v.split(',')) {
    const m = /^\s*(\w+)\s*=\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(item);
    if (!m || !(RATE_KINDS as readonly string[]).includes(m[1]!) || Number(m[3]) < 1) {
      throw new Error(
        `RATE_LIMITS: "${item}" is not <kind>=<points>/<seconds> with kind one of ${RATE_KINDS.join(', ')}`,
      );
    }
    out[m[1] as RateKind] = { points: Number(m[2]), seconds: Number(m[3]) };
  }
  return out;
}

@Injectable()
export class RateLimiter {
  private readonly log = new Logger('RateLimiter');
  private readonly limiters?: Record<RateKind, RateLimiterRedis>;

  constructor(@Inject(CONFIG) config: ServerConfig, @Inject(EdgeRedis) redis: EdgeRedis) {
    const limits = config.rateLimits;
    if (limits === 'off') return;
    this.limiters = Object.fromEntries(
      RATE_KINDS.map((k) => [
        k,
        new RateLimiterRedis({
          storeClient: redis.client,
          keyPrefix: `${redis.prefix}:rate:${k}`,
          points: limits[k].points,
          duration: limits[k].seconds,
        }),
      ]),
    ) as Record<RateKind, RateLimiterRedis>;
  }

  /** Counts one request of `kind` by `key`; throws RATE_LIMITED over the limit. */
  async consume(kind: RateKind, key: string): Promise<void> {
    const limiter = this.limiters?.[kind];
    if (!limiter) return;
    try {
      await limiter.consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        const s = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        throw new RateLimitedError(kind, s);
      }
      this.log.warn(`rate limit ${kind} not counted: ${String(err)}`);
    }
  }
}

export class RateLimitedError extends ProtocolError {
  constructor(
    kind: RateKind,
    readonly retryAfterS: number,
  ) {
    super('RATE_LIMITED', `too many ${kind} requests; retry in ${retryAfterS} s`);
  }
}
