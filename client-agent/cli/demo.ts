/**
 * `tributary demo`: one command that walks a bounty through every journey on a local stack:
 * anvil with the contracts deployed, the aggregator as a child process (server/main.ts, real
 * PostgreSQL and Redis from DATABASE_URL / REDIS_URL or its embedded defaults), a sponsor who
 * creates a bounty, a few data owners who join it with shards of a built-in data set, then a
 * claim per owner, an audit and a verified model download. Each step runs the real command.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { deployTributary, startDevChain, type DevChain } from '../../contracts/index.js';
import { parseCount, showTokens, type Deployment, type GlobalOptions } from './context.js';
import { CliError, fail } from './errors.js';
import { fields, table, toJson, type Io } from './io.js';
import { Wallet } from 'ethers';

/** The checkout: two folders up from the sources, three from their build in dist/. */
const ROOT = ((here) =>
  existsSync(join(here, '..', '..', 'package.json'))
    ? resolve(here, '..', '..')
    : resolve(here, '..', '..', '..'))(dirname(fileURLToPath(import.meta.url)));

export type Runner = (argv: string[], io: Io) => Promise<number>;

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Starts server/main.ts in a child process on `port` and waits until it answers. */
async function startServer(
  env: NodeJS.ProcessEnv,
  port: number,
  log: (l: string) => void,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'server', 'main.ts')], {
    cwd: ROOT,
    env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 90_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) break;
    try {
      const r = await fetch(`${url}/bounties`);
      if (r.ok) {
        log(`aggregator listening on ${url}`);
        return { url, child };
      }
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  child.kill('SIGTERM');
  return fail(
    'SERVER_UNREACHABLE',
    `the aggregator did not start: ${tail
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('at ') && !l.startsWith('Node.js'))
      .slice(-4)
      .join(' | ')}`,
  );
}

/** Drops the demo's schema and Redis keys from shared services (embedded ones live under --dir). */
async function cleanUp(env: NodeJS.ProcessEnv, tag: string): Promise<void> {
  if (env['DATABASE_URL']) {
    interface PgClient {
      connect(): Promise<void>;
      query(sql: string): Promise<unknown>;
      end(): Promise<void>;
    }
    const name = 'pg'; // untyped package: loaded by name, used through the interface above
    const pg = (await import(name)) as { default: { Client: new (o: object) => PgClient } };
    const client = new pg.default.Client({ connectionString: env['DATABASE_URL'] });
    try {
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "demo_${tag}" CASCADE`);
    } catch {
      /* best effort */
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  if (env['REDIS_URL']) {
    const { Redis } = await import('ioredis');
    const redis = new Redis(env['REDIS_URL'], { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `demo:${tag}*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } catch {
      /* best effort */
    } finally {
      redis.disconnect();
    }
  }
}

interface DemoOptions {
  agents: string;
  rounds: string;
  data: string;
  samples: string;
  dir: string;
  keep?: boolean;
}

/** An Io that keeps a command's output (the demo prints its own summary). */
function captured(env: NodeJS.ProcessEnv): Io & { out: string; err: string } {
  const c = {
    out: '',
    err: '',
    env,
    isTTY: false,
    stdout: (t: string) => void (c.out += t),
    stderr: (t: string) => void (c.err += t),
  };
  return c;
}

async function step(
  name: string,
  io: Io,
  runner: Runner,
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<unknown> {
  const cap = captured(env);
  io.stderr(`> tributary ${argv.filter((a) => !/^0x[0-9a-f]{64}$/i.test(a)).join(' ')}\n`);
  const code = await runner([...argv, '--json'], cap);
  let doc: Record<string, unknown> = {};
  try {
    doc = JSON.parse(cap.out) as Record<string, unknown>;
  } catch {
    /* no JSON document: the error is on stderr */
  }
  if (code !== 0) {
    const e = (doc as { error?: { code: string; message: string } }).error;
    throw new CliError(
      e?.code ?? 'SERVER_ERROR',
      `demo step "${name}" failed: ${e?.message ?? cap.err.trim()}`,
    );
  }
  return doc;
}

interface RoundMetric {
  round: number;
  /** Validation loss of the model after the round (the scoring record's full coalition). */
  loss: number;
  /** Of the model the round started from. */
  before: number;
}

interface RoundProgress {
  /** Stops following; resolves to every round reported. */
  stop(): Promise<RoundMetric[]>;
}

/**
 * Reports each round's validation loss as soon as the aggregator has scored it (its published
 * scoring record: utilities are negative validation loss, the full coalition is the model with
 * every group's update). The aggregator computes no accuracy today, so none is shown.
 */
function followRounds(server: string, id: string, log: (l: string) => void): RoundProgress {
  const seen: RoundMetric[] = [];
  let stopped = false;
  const poll = async () => {
    const r = await fetch(`${server}/bounties/${id}/rounds`).catch(() => undefined);
    if (!r?.ok) return;
    const rows = (await r.json()) as {
      ledgerRound: number | null;
      scoring: { record: { utilities: number[]; metric?: string } } | null;
    }[];
    for (const row of rows.sort((a, b) => (a.ledgerRound ?? 0) - (b.ledgerRound ?? 0))) {
      const u = row.scoring?.record.utilities;
      if (row.ledgerRound === null || !u?.length || seen.some((m) => m.round === row.ledgerRound))
        continue;
      const m = { round: row.ledgerRound, loss: -u[u.length - 1]!, before: -u[0]! };
      seen.push(m);
      log(
        `round ${m.round} scored: validation loss ${m.loss.toFixed(4)} (the model before it: ${m.before.toFixed(4)})`,
      );
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await poll();
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    async stop() {
      if (!stopped) {
        stopped = true;
        await loop;
        await poll(); // rounds scored since the last poll
      }
      return seen;
    },
  };
}

async function demo(io: Io, runner: Runner, g: GlobalOptions, o: DemoOptions): Promise<void> {
  const agents = parseCount(o.agents, '--agents', 3);
  const rounds = parseCount(o.rounds, '--rounds');
  const samples = parseCount(o.samples, '--samples');
  const log = (l: string) => io.stderr(`${l}\n`);
  let chain: DevChain | undefined;
  let server: ChildProcess | undefined;
  const tag = randomBytes(3).toString('hex');
  // The dashboard's address comes first, so a person can open it while the stack starts.
  const port = g.server ? undefined : await freePort();
  const dashboard = g.server ?? `http://127.0.0.1:${port}`;
  log(`dashboard: ${dashboard}/ (the web app; live rounds, rewards and the audit)`);
  let progress: RoundProgress | undefined;
  try {
    chain = await startDevChain({ accounts: agents + 2 });
    log(`anvil on ${chain.url}`);
    const [sponsorKey, coordinatorKey, ...agentKeys] = chain.keys as [string, string, ...string[]];
    const sponsor = new Wallet(sponsorKey, chain.provider);
    const { addresses } = await deployTributary(sponsor);
    const coordinator = new Wallet(coordinatorKey).address;
    const env: NodeJS.ProcessEnv = {
      ...io.env,
      CHAIN_RPC_URL: chain.url,
      COORDINATOR_KEY: coordinatorKey,
      CONTRACT_ADDRESSES: JSON.stringify(addresses),
      DB_SCHEMA: `demo_${tag}`,
      REDIS_PREFIX: `demo:${tag}`,
      DATA_DIR: join(o.dir, 'server'),
    };
    await mkdir(join(o.dir, 'server'), { recursive: true });
    const started = g.server
      ? { url: g.server, child: undefined }
      : await startServer(env, port!, log);
    server = started.child;
    const dep: Deployment = {
      rpcUrl: chain.url,
      chainId: 31337,
      contracts: addresses,
      server: started.url,
      coordinator,
      fromBlock: 0,
    };
    await mkdir(o.dir, { recursive: true });
    const depFile = join(o.dir, 'deployment.json');
    await writeFile(depFile, toJson(dep) + '\n');
    log(`deployment written to ${depFile}`);
    const base = ['--deployment', depFile];
    const cmdEnv = { ...io.env, TRIBUTARY_KEY: sponsorKey };
    const created = (await step(
      'sponsor a bounty',
      io,
      runner,
      [
        ...base,
        'bounty',
        'create',
        '--model',
        'cnn',
        '--validation',
        o.data,
        '--validation-limit',
        '500',
        '--budget',
        '1000',
        '--rounds',
        String(rounds),
        '--min-participants',
        String(agents),
        '--licence',
        'open',
      ],
      cmdEnv,
    )) as { bountyId: string };
    const id = String(created.bountyId);
    log(`bounty ${id} funded; follow it at ${dashboard}/bounty/${id}`);
    progress = followRounds(started.url, id, log);
    const joins = agentKeys
      .slice(0, agents)
      .map((key, i) =>
        step(
          `agent ${i + 1} joins`,
          io,
          runner,
          [
            ...base,
            'join',
            id,
            '--data',
            o.data,
            '--shard',
            `${i}/${agents}`,
            '--limit',
            String(samples),
            '--timeout',
            String(120 * rounds),
          ],
          { ...io.env, TRIBUTARY_KEY: key },
        ),
      );
    const results = (await Promise.all(joins)) as { account: string; rounds: unknown[] }[];
    const metrics = await progress.stop();
    log(
      `${results.length} agents took part in ${Math.max(...results.map((r) => r.rounds.length))} rounds`,
    );
    const claims: unknown[] = [];
    for (const key of agentKeys.slice(0, agents))
      claims.push(
        await step('claim', io, runner, [...base, 'claim', id], { ...io.env, TRIBUTARY_KEY: key }),
      );
    const audit = await step('audit', io, runner, [...base, 'audit', id], io.env);
    const model = await step(
      'download the model',
      io,
      runner,
      [...base, 'model', 'download', id, '--out', join(o.dir, `model-${id}`)],
      io.env,
    );
    const summary = {
      dashboard: `${dashboard}/bounty/${id}`,
      deployment: depFile,
      bountyId: id,
      validation: metrics,
      agents: results,
      claims,
      audit,
      model,
    };
    if (g.json) io.stdout(toJson(summary) + '\n');
    else {
      const rep = audit as { pass: boolean; findings: unknown[]; rows: unknown[] };
      const m = model as { dir: string; artifactHash: string; version: string };
      io.stdout(
        table(
          ['data owner', 'rounds', 'claimed'],
          results.map((r, i) => [
            r.account,
            r.rounds.length,
            showTokens(BigInt((claims[i] as { claimed?: string }).claimed ?? '0')),
          ]),
        ) +
          fields([
            ['bounty', `${id}, ${dashboard}/bounty/${id}`],
            [
              'validation loss',
              metrics.map((m) => `round ${m.round}: ${m.loss.toFixed(4)}`).join(', ') || '-',
            ],
            [
              'audit',
              `${rep.pass ? 'PASS' : 'FAIL'} (${rep.rows.length} rewards re-derived, ${rep.findings.length} findings)`,
            ],
            ['model', `version ${m.version} in ${m.dir}, hash ${m.artifactHash} matches the chain`],
            ['deployment', depFile],
            ['audit in the browser', `${dashboard}/bounty/${id}/audit`],
          ]),
      );
    }
    if (o.keep) {
      log(
        `the stack keeps running: open ${dashboard}/bounty/${id}, or try tributary --deployment ${depFile} bounty list; Ctrl-C stops it`,
      );
      await new Promise<void>((r) => process.once('SIGINT', () => r()));
    }
  } finally {
    await progress?.stop();
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server!.once('exit', r));
    }
    await chain?.stop();
    if (server) await cleanUp(io.env, tag);
  }
}

export function demoCommand(io: Io, runner?: Runner): Command {
  return new Command('demo')
    .option('--agents <n>', 'data owners (at least 3: the smallest secure-aggregation group)', '6')
    .option('--rounds <n>', 'rounds of the bounty', '2')
    .option('--data <name>', 'built-in data set the agents split', 'mnist')
    .option('--samples <n>', 'training samples per agent', '300')
    .option('--dir <dir>', 'where the deployment file and the model go', '.data/demo')
    .option('--keep', 'keep the chain and the aggregator running afterwards (until Ctrl-C)')
    .action(async (o: DemoOptions, c: Command) => {
      if (!runner) fail('USAGE', 'demo is only available from the tributary program');
      await demo(io, runner, c.optsWithGlobals() as GlobalOptions, o);
    });
}
