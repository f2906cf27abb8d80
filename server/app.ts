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
import type { DataSource } from 'typeorm';
import { AppModule } from './app.module.js';
import type { Chain } from './chain/chain.service.js';
import type { ServerConfig } from './config.js';
import { openDataSource } from './db/datasource.js';
import { ErrorFilter } from './errors.filter.js';
import { RedisIoAdapter } from './gateway/redis-io.adapter.js';
import {
  startEmbeddedPostgres,
  startEmbeddedRedis,
  type EmbeddedService,
} from './infra/embedded.js';
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
    log.log(`embedded PostgreSQL at ${pg.url}`);
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
  app.useBodyParser('json', { limit: '512mb' });
  // Model downloads are large and carry their hash; no per-response ETag hashing.
  app.set('etag', false);
  app.useGlobalFilters(new ErrorFilter());
  app.enableShutdownHooks();
  const io = new RedisIoAdapter(app, {
    redisUrl: cfg.redisUrl,
    key: `${cfg.redisPrefix}:io`,
    maxHttpBufferSize: cfg.maxMessageBytes,
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
