/**
 * One Redis connection for the edge's shared counters (rate limits), so that every instance
 * behind a load balancer counts the same requests.
 */
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { ServerConfig } from '../config.js';
import { watchRedis } from '../queue/redis-health.js';
import { CONFIG } from '../tokens.js';

@Injectable()
export class EdgeRedis implements OnApplicationShutdown {
  readonly client: Redis;
  readonly prefix: string;

  constructor(@Inject(CONFIG) config: ServerConfig) {
    if (!config.redisUrl) throw new Error('EdgeRedis needs a Redis URL');
    // Fail fast rather than queue: a request waits on a counter, never on a reconnecting Redis.
    this.client = watchRedis(
      new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: true }),
      new Logger('EdgeRedis'),
      'rate limits',
    );
    this.prefix = `${config.redisPrefix}:edge`;
  }

  onApplicationShutdown(): void {
    this.client.disconnect();
  }
}
