/**
 * Socket.IO with the Redis adapter, so a broadcast from any instance (a worker closing a stage, say)
 * reaches agents connected to any other instance, and with `maxHttpBufferSize` sized to the model.
 * Browsers are held to the same origins as REST (`CORS_ORIGINS`), and the client address comes
 * from the same `trust proxy` as Express's `req.ip`, so per-IP limits count the same client.
 */
import type { IncomingMessage } from 'node:http';
import { Logger, type INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { watchRedis } from '../queue/redis-health.js';

/** Express's compiled `trust proxy`: whether to believe the hop at `addr` (index `i` from us). */
export type TrustProxy = (addr: string, i: number) => boolean;

/** The client's address as Express's `req.ip` computes it (the first untrusted hop). */
export function clientAddress(req: IncomingMessage, trust: TrustProxy): string {
  const forwarded = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)
    .reverse();
  const hops = [req.socket.remoteAddress ?? '', ...forwarded];
  let i = 0;
  while (i < hops.length - 1 && trust(hops[i]!, i)) i++;
  return hops[i]!;
}

/**
 * Whether a browser at the request's Origin may connect. WebSocket upgrades are not subject to
 * CORS in the browser, so the origin is checked here for every transport. No Origin (agents in
 * Node) passes; so does the aggregator's own origin, whose page is the web app.
 */
export function originAllowed(
  req: IncomingMessage,
  allowed: string[] | '*',
  publicUrl?: string,
): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || allowed === '*') return true;
  if (allowed.includes(origin) || origin === publicUrl) return true;
  try {
    // Same host as the request: the web app served by this aggregator (behind a TLS proxy the
    // scheme it sees differs from the page's, so the host alone decides).
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export class RedisIoAdapter extends IoAdapter {
  private pub?: Redis;
  private sub?: Redis;

  constructor(
    app: INestApplicationContext,
    private readonly opts: {
      redisUrl: string;
      key: string;
      maxHttpBufferSize: number;
      corsOrigins: string[] | '*';
      publicUrl?: string;
      trustProxy: TrustProxy;
    },
  ) {
    super(app);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override createIOServer(port: number, options?: any): any {
    const { corsOrigins, publicUrl, trustProxy } = this.opts;
    const server = super.createIOServer(port, {
      ...options,
      maxHttpBufferSize: this.opts.maxHttpBufferSize,
      // Agents train between messages; do not mistake a busy event loop for a dead peer.
      pingTimeout: 60_000,
      pingInterval: 25_000,
      cors: { origin: corsOrigins, methods: ['GET', 'POST'], credentials: false },
      allowRequest: (req: IncomingMessage, done: (err: string | null, ok: boolean) => void) =>
        done(null, originAllowed(req, corsOrigins, publicUrl)),
    }) as {
      adapter(a: unknown): void;
      engine: {
        on(
          e: 'connection',
          f: (c: { request: IncomingMessage; remoteAddress: string }) => void,
        ): void;
      };
    };
    // Read by every handshake (`socket.handshake.address`) after the connection is set up.
    server.engine.on('connection', (conn) => {
      conn.remoteAddress = clientAddress(conn.request, trustProxy);
    });
    const log = new Logger('RedisIoAdapter');
    this.pub = watchRedis(new Redis(this.opts.redisUrl), log, 'Socket.IO publisher');
    this.sub = watchRedis(this.pub.duplicate(), log, 'Socket.IO subscriber');
    server.adapter(createAdapter(this.pub, this.sub, { key: this.opts.key }));
    return server;
  }

  disconnectRedis(): void {
    this.pub?.disconnect();
    this.sub?.disconnect();
  }
}
