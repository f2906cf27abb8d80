/**
 * Builds and starts the aggregator: resolves Postgres, Redis and the chain (real services from
 * configuration, embedded ones otherwise), runs migrations, then starts Nest with the Socket.IO
 * Redis adapter and the BullMQ workers.
 */
import 'reflect-metadata';
import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { JsonRpcProvider, Wallet } from 'ethers';
import helmet from 'helmet';
import type { DataSource } from 'typeorm';
import { AppModule } from './app.module.js';
import type { Chain } from './chain/chain.service.js';
import { registerBodyBytes, SMALL_BODY_BYTES, type ServerConfig } from './config.js';
import { openDataSource } from './db/datasource.js';
import { bodyParserError, ErrorFilter } from './errors.filter.js';
import { RedisIoAdapter, type TrustProxy } from './gateway/redis-io.adapter.js';
import {
  startEmbeddedPostgres,
  startEmbeddedRedis,
  type EmbeddedService,
} from './infra/embedded.js';
import { LICENCE_HEADERS } from './models/licence.js';
import { QueueService } from './queue/queue.service.js';
import { mountDocs } from './web/openapi.js';
import { serveWeb } from './web/static.js';

export interface RunningServer {
  app: NestExpressApplication;
  url: string;
  port: number;
  config: ServerConfig;
  ds: DataSource;
  chain: Chain;
  close(): Promise<void>;
}

export interface StartOptions {
  /** An already connected chain (tests share one anvil between server and agents). */
  chain?: Chain;
  logger?: LogLevel[] | false;
}

/**
 * Security headers (helmet). The web app loads only its own scripts and styles (uPlot sets inline
 * styles, tfjs may compile WebAssembly); it reads the chain's RPC wherever GET /chain says it is,
 * so `connect-src` allows any http(s) and ws(s) origin. Nothing may frame it.
 */
function securityHeaders(): Parameters<typeof helmet>[0] {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", 'http:', 'https:', 'ws:', 'wss:'],
        workerSrc: ["'self'", 'blob:'],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // Downloads are fetched cross-origin by other tools' pages through CORS; no-cors embedding of
    // our responses by other sites stays refused.
    crossOriginResourcePolicy: { policy: 'same-site' },
    frameguard: { action: 'deny' },
  };
}

function isJson(contentType: unknown): boolean {
  return typeof contentType === 'string' && /^application\/([\w.+-]+\+)?json\b/i.test(contentType);
}

/** The body parser's errors (too large, malformed JSON) in the routes' error shape. */
function bodyErrors(
  err: unknown,
  _req: unknown,
  res: { status(n: number): { json(b: unknown): void } },
  next: (err?: unknown) => void,
): void {
  const e = bodyParserError(err);
  if (!e) return next(err);
  res.status(e.status).json({ error: { code: e.code, message: e.message } });
}

export function makeProvider(url: string): JsonRpcProvider {
  // cacheTimeout -1: without it a second transaction in a row fails with "nonce too low" on anvil.
  return new JsonRpcProvider(url, undefined, {
    staticNetwork: true,
    cacheTimeout: -1,
    batchMaxCount: 1,
  });
}

async function connectChain(config: ServerConfig): Promise<Chain> {
  if (config.chainRpcUrl) {
    if (!config.coordinatorKey) throw new Error('CHAIN_RPC_URL needs COORDINATOR_KEY');
    const provider = makeProvider(config.chainRpcUrl);
    const { chainId } = await provider.getNetwork();
    const coordinator = new Wallet(config.coordinatorKey, provider);
    const { attachChain, deployChain } = await import('./chain/attach.js');
    if (!config.contractAddresses) return deployChain(provider, Number(chainId), coordinator);
    return attachChain(provider, Number(chainId), coordinator, config.contractAddresses);
  }
  const { startLocalChain } = await import('./chain/attach.js');
  return startLocalChain();
}

export async function startServer(
  config: ServerConfig,
  opts: StartOptions = {},
): Promise<RunningServer> {
  const log = new Logger('Tributary');
  const owned: EmbeddedService[] = [];
  const cfg = { ...config };
  if (!cfg.databaseUrl) {
    const pg = await startEmbeddedPostgres(cfg.dataDir);
    owned.push(pg);
    cfg.databaseUrl = pg.url;
    log.log(`embedded PostgreSQL at ${pg.url}, cluster in ${pg.dir}`);
  }
  if (!cfg.redisUrl) {
    const redis = await startEmbeddedRedis();
    owned.push(redis);
    cfg.redisUrl = redis.url;
    log.log(`embedded Redis at ${redis.url}`);
  }
  const chain = opts.chain ?? (await connectChain(cfg));
  const ds = await openDataSource(cfg.databaseUrl, cfg.dbSchema);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(cfg, ds, chain), {
    logger: opts.logger ?? ['log', 'warn', 'error'],
    bodyParser: true,
  });
  // Body limits: POST /bounties carries the initial weights and the validation set, so its limit
  // follows from the model and validation caps (the service then checks the exact lengths the
  // spec implies before decoding); every other route takes a few kilobytes.
  app.useBodyParser('json', {
    limit: registerBodyBytes(cfg),
    type: (req: { method?: string; url?: string; headers: Record<string, unknown> }) =>
      req.method === 'POST' &&
      /^\/bounties\/?(\?|$)/.test(req.url ?? '') &&
      isJson(req.headers['content-type']),
  });
  app.useBodyParser('json', { limit: SMALL_BODY_BYTES });
  app.use(bodyErrors);
  // Model downloads are large and carry their hash; no per-response ETag hashing.
  app.set('etag', false);
  app.disable('x-powered-by');
  app.use(helmet(securityHeaders()));
  app.enableCors({
    origin: cfg.corsOrigins,
    methods: ['GET', 'HEAD', 'POST'],
    allowedHeaders: ['content-type', ...Object.values(LICENCE_HEADERS)],
    exposedHeaders: ['x-model-hash', 'retry-after'],
    credentials: false,
    maxAge: 600,
  });
  app.useGlobalFilters(new ErrorFilter());
  // Behind a reverse proxy, req.ip (per-IP rate limits) is the client only with trust proxy set.
  app.set('trust proxy', cfg.trustProxy);
  const io = new RedisIoAdapter(app, {
    redisUrl: cfg.redisUrl,
    key: `${cfg.redisPrefix}:io`,
    maxHttpBufferSize: cfg.maxMessageBytes,
    corsOrigins: cfg.corsOrigins,
    publicUrl: cfg.publicUrl,
    trustProxy: (app.getHttpAdapter().getInstance() as { get(k: string): TrustProxy }).get(
      'trust proxy fn',
    ),
  });
  app.useWebSocketAdapter(io);
  mountDocs(app);
  serveWeb(app);
  await app.listen(cfg.port, cfg.host);
  app.get(QueueService).start();
  const addr = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${addr.port}`;
  log.log(`aggregator listening on ${url} (chain ${chain.chainId})`);
  return {
    app,
    url,
    port: addr.port,
    config: cfg,
    ds,
    chain,
    close: async () => {
      await app.close();
      io.disconnectRedis();
      await ds.destroy();
      if (!opts.chain) await chain.stop?.();
      for (const s of owned.reverse()) await s.stop();
    },
  };
}
