/**
 * Socket.IO with the Redis adapter, so a broadcast from any instance (a worker closing a stage, say)
 * reaches agents connected to any other instance, and with `maxHttpBufferSize` sized to the model.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';

export class RedisIoAdapter extends IoAdapter {
  private pub?: Redis;
  private sub?: Redis;

  constructor(
    app: INestApplicationContext,
    private readonly opts: { redisUrl: string; key: string; maxHttpBufferSize: number },
  ) {
    super(app);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override createIOServer(port: number, options?: any): any {
    const server = super.createIOServer(port, {
      ...options,
      maxHttpBufferSize: this.opts.maxHttpBufferSize,
      // Agents train between messages; do not mistake a busy event loop for a dead peer.
      pingTimeout: 60_000,
      pingInterval: 25_000,
    }) as { adapter(a: unknown): void };
    this.pub = new Redis(this.opts.redisUrl);
    this.sub = this.pub.duplicate();
    server.adapter(createAdapter(this.pub, this.sub, { key: this.opts.key }));
    return server;
  }

  disconnectRedis(): void {
    this.pub?.disconnect();
    this.sub?.disconnect();
  }
}
