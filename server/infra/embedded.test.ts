/**
 * The embedded PostgreSQL from a folder only its owner can read (a checkout in root's home of
 * mode 700): binaries reached through that folder and the data directory inside it. As root the
 * cluster runs as the `postgres` user, who cannot enter the folder, so both must be moved where
 * it can; as anyone else the folder is the user's own. Real initdb, postgres and a connection.
 */
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledPostgres, sharedBase } from './postgres.js';
import { startEmbeddedPostgres } from './embedded.js';

interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<{ rows: { db: string; who: string }[] }>;
  end(): Promise<void>;
}
const pgName = 'pg'; // untyped package: loaded by name, used through the interface above
const pg = (await import(pgName)) as { default: { Client: new (o: object) => PgClient } };

async function whoAmI(url: string): Promise<{ db: string; who: string }> {
  const client = new pg.default.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT current_database() AS db, current_user AS who');
    return rows[0]!;
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL from a folder of mode 700', () => {
  let home: string;
  let before: string[];
  const clusters: string[] = [];

  beforeAll(async () => {
    before = await readdir(sharedBase()).catch(() => []);
    home = await mkdtemp(join(tmpdir(), 'tributary-home-'));
    await chmod(home, 0o700);
    // The binaries as a checkout in this folder would have them: under its node_modules.
    await symlink(bundledPostgres(), join(home, 'native'));
  });

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
    for (const dir of clusters) await rm(dir, { recursive: true, force: true });
    // Binaries copied for this test's folders (a shared copy from before stays).
    for (const e of await readdir(sharedBase()).catch(() => []))
      if (e.startsWith('bin-') && !before.includes(e))
        await rm(join(sharedBase(), e), { recursive: true, force: true });
  });

  test('initialises, starts, serves the tributary database, stops, and starts again on the same data', async () => {
    const dataDir = join(home, 'checkout', '.data');
    const first = await startEmbeddedPostgres(dataDir, join(home, 'native'));
    clusters.push(first.dir);
    try {
      expect(await whoAmI(first.url)).toEqual({ db: 'tributary', who: 'postgres' });
      if (process.getuid?.() === 0) expect(first.dir.startsWith(home)).toBe(false);
      else expect(first.dir).toBe(join(dataDir, 'postgres'));
      const client = new pg.default.Client({ connectionString: first.url });
      await client.connect();
      await client.query('CREATE TABLE kept (v int)');
      await client.end();
    } finally {
      await first.stop();
    }
    // Persistent: the same data directory maps to the same cluster, with its table.
    const second = await startEmbeddedPostgres(dataDir, join(home, 'native'));
    try {
      expect(second.dir).toBe(first.dir);
      const client = new pg.default.Client({ connectionString: second.url });
      await client.connect();
      const { rows } = await client.query(
        "SELECT current_database() AS db, to_regclass('kept')::text AS who",
      );
      await client.end();
      expect(rows[0]).toEqual({ db: 'tributary', who: 'kept' });
    } finally {
      await second.stop();
    }
  });

  test('binaries that cannot be executed fail with one clear error, not an unhandled event', async () => {
    // An initdb without execute permission: spawn fails with EACCES.
    const broken = join(home, 'broken');
    await mkdir(join(broken, 'bin'), { recursive: true });
    for (const b of ['initdb', 'postgres'])
      await writeFile(join(broken, 'bin', b), '#!/bin/sh\n', { mode: 0o644 });
    const err = await startEmbeddedPostgres(join(home, 'other'), broken).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    const missing = await startEmbeddedPostgres(join(home, 'other'), join(home, 'none')).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(missing?.code).toBe('EMBEDDED_SERVICE');
    expect(err?.code).toBe('EMBEDDED_SERVICE');
    expect(err?.message).toMatch(/embedded PostgreSQL .*initdb.*EACCES.*DATABASE_URL/);
    expect(err?.message).not.toContain('\n');
  });
});
