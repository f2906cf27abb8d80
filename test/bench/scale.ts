/**
 * Scale benchmark: two aggregator instances (`WORKER_LANES=rounds`) and a settlement worker
 * (`WORKER_LANES=settlement`), each its own `server/main.ts` process on one PostgreSQL schema, one
 * Redis prefix and one anvil chain, with the agents in a child process of their own (this file
 * with SCALE_AGENT_HOST=1), every other agent on each serving instance. Everything is what
 * production runs: EIP-712 sign-in, Socket.IO, SecAgg+ with certified keys, settlement on chain;
 * only training is a fixed small delta (a 20 x 4 dense model) so that the agents' host keeps up.
 *
 * - hold: `connections_held` agents signed in and joined, held open at once; the two serving
 *   instances' RSS with a fifth of them and with all of them gives `rss_mb_per_1000_conn`.
 * - round: one secure round with `round_agents` summed; `stage_p99_ms` is the 99th percentile, over
 *   every agent and stage, of the time from an agent handing a stage message to its socket to the
 *   server's acknowledgement (the message checked and stored in PostgreSQL); `stage_*_s` are the
 *   round's stage close times.
 * - soak: `soak_rounds` rounds in which every picked agent drops out with probability 0.1 at a
 *   random point (before keys, or after keys, shares, masked or confirm), coming back as a fresh
 *   process would (new sign-in, new key) after the round ends; `soak_rss_growth_5_to_50` is the
 *   three servers' RSS when round 50 is settled over their RSS when round 5 is settled, minus 1.
 * - `errors`: agent errors (of agents not dropped on purpose), failed sign-ins or joins,
 *   unexpected disconnects, and server log lines at level ERROR, over the whole run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Wallet } from 'ethers';
import { ProtocolAgent, type Stage } from '../../client-agent/protocol/agent.js';
import { startLocalChain } from '../../server/chain/attach.js';
import type { Chain } from '../../server/chain/chain.service.js';
import { dropSchema, openDataSource } from '../../server/db/datasource.js';
import { freePort } from '../../server/infra/embedded.js';
import {
  DATABASE_URL,
  REDIS_URL,
  denseSpec,
  joinOnChain,
  sponsorBounty,
  syntheticTask,
  waitFor,
} from '../../server/test/harness.js';
import type { BenchOptions, BenchResult } from './run.js';

const INPUTS = 20;
const CLASSES = 4;
const PARAMS = INPUTS * CLASSES + CLASSES;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Server {
  url: string;
  pid: number;
  child: ChildProcess;
  errors: number;
}

/** `server/main.ts` in its own process, so its RSS is its own; resolves once it answers HTTP. */
async function startServerProcess(env: Record<string, string>, errors: string[]): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const s: Server = { url: `http://127.0.0.1:${port}`, pid: child.pid!, child, errors: 0 };
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (process.env.BENCH_LOG) process.stderr.write(`[${env.WORKER_LANES}] ${line}\n`);
      if (/\bERROR\b/.test(line)) {
        s.errors++;
        if (errors.length < 20) errors.push(`${env.WORKER_LANES}: ${line}`);
      }
    });
  }
  const until = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`aggregator exited with ${child.exitCode}`);
    const ok = await fetch(`${s.url}/chain`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return s;
    if (Date.now() > until) throw new Error('aggregator did not start within 90 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Resident set of a process, MB. */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** What the agents' host reports, one JSON object a line. */
interface HostReport {
  type: 'held' | 'latency' | 'error' | 'dropped' | 'reward' | 'started';
  n?: number;
  ms?: number;
  stage?: Stage;
  detail?: unknown;
}

interface Host {
  child: ChildProcess;
  held: number;
  started: number;
  latencies: number[];
  errors: unknown[];
  dropped: number;
  rewards: number;
  stop(): Promise<void>;
}

function startHost(env: Record<string, string>): Host {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, ...env, SCALE_AGENT_HOST: '1' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const h: Host = {
    child,
    held: 0,
    started: 0,
    latencies: [],
    errors: [],
    dropped: 0,
    rewards: 0,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let e: HostReport;
    try {
      e = JSON.parse(line) as HostReport;
    } catch {
      return;
    }
    if (e.type === 'held') h.held = e.n!;
    else if (e.type === 'started') h.started = e.n!;
    else if (e.type === 'latency') h.latencies.push(e.ms!);
    else if (e.type === 'error') h.errors.push(e.detail);
    else if (e.type === 'dropped') h.dropped++;
    else if (e.type === 'reward') h.rewards++;
  });
  return h;
}

export async function run({ quick }: BenchOptions): Promise<BenchResult> {
  const CONN = quick ? 40 : 500;
  const ROUND_N = quick ? 24 : 200;
  const SOAK_N = quick ? 16 : 40;
  const SOAK_ROUNDS = quick ? 8 : 50;
  const RSS_FROM = 5;
  // SCALE_PARTS=round runs only some parts (for profiling); the figures need all three.
  const parts = new Set((process.env.SCALE_PARTS ?? 'hold,round,soak').split(','));
  const t0 = Date.now();
  const out: BenchResult = { load_avg_1m_at_start: +loadavg()[0]!.toFixed(2) };
  const chain: Chain = await startLocalChain(CONN + 2);
  const tag = randomBytes(4).toString('hex');
  const schema = `bench_scale_${tag}`;
  const serverErrors: string[] = [];
  const env = {
    DATABASE_URL,
    REDIS_URL,
    DB_SCHEMA: schema,
    REDIS_PREFIX: `bench:scale:${tag}`,
    CHAIN_RPC_URL: chain.url!,
    COORDINATOR_KEY: chain.keys![0]!,
    CONTRACT_ADDRESSES: JSON.stringify(chain.addresses),
    // Every agent shares one process and the servers' 2 cores, so a stage of 200 takes longer
    // than on agents' own machines: 60 s a stage (as the round benchmark), not 10 s.
    STAGE_KEYS_MS: '60000',
    STAGE_SHARES_MS: '60000',
    STAGE_MASKED_MS: '60000',
    STAGE_CONFIRM_MS: '60000',
    STAGE_UNMASK_MS: '60000',
  };
  const servers: Server[] = [];
  const hosts: Host[] = [];
  let db: Awaited<ReturnType<typeof openDataSource>> | undefined;
  const q = async <T>(sql: string, args: unknown[] = []): Promise<T[]> =>
    (await db!.query(sql, args)) as T[];
  let agentErrors = 0;
  try {
    // One after another: the first runs the migrations.
    for (const lanes of ['rounds', 'rounds', 'settlement'])
      servers.push(await startServerProcess({ ...env, WORKER_LANES: lanes }, serverErrors));
    const [a, b] = servers as [Server, Server, Server];
    db = await openDataSource(DATABASE_URL, schema);
    const urls = JSON.stringify([a.url, b.url]);
    const agentKeys = chain.keys!.slice(2, 2 + CONN);
    const sponsor = async (n: number, rounds: number, over: Parameters<typeof denseSpec>[2]) => {
      const { bountyId } = await sponsorBounty(a, chain, {
        sponsorKey: chain.keys![1]!,
        spec: denseSpec(INPUTS, CLASSES, over),
        weights: new Float32Array(PARAMS),
        validation: syntheticTask(INPUTS, CLASSES, 200, n),
        budget: 10n ** 21n,
        rounds,
        minParticipants: 3,
      });
      // Different senders: their joins go in parallel without nonce clashes.
      for (let i = 0; i < n; i += 25)
        await Promise.all(
          agentKeys.slice(i, Math.min(n, i + 25)).map((k) => joinOnChain(chain, k, bountyId)),
        );
      return bountyId;
    };
    const hostErrors = (h: Host) => {
      agentErrors += h.errors.length;
      for (const e of h.errors.slice(0, 5)) console.error('agent error:', JSON.stringify(e));
    };

    // ------------------------------------------------------------ hold
    if (parts.has('hold')) {
      // No round opens: the spec wants more participants than there are.
      const holdBounty = await sponsor(CONN, 1, { minParticipants: CONN + 1 });
      // Two steps, so that what the first connections bring once (code loaded, pools, caches) is
      // not counted per connection: RSS with a fifth of them held, then with all of them.
      const first = Math.round(CONN / 5);
      const hold = startHost({
        PHASE: 'hold',
        SERVER_URLS: urls,
        BOUNTY_ID: String(holdBounty),
        AGENT_KEYS: JSON.stringify(agentKeys),
        FIRST: String(first),
      });
      hosts.push(hold);
      /** The serving instances' RSS, median of samples over 5 s. */
      const settledRss = async () => {
        const xs: number[] = [];
        for (let i = 0; i < 10; i++) {
          xs.push(rssMb(a.pid) + rssMb(b.pid));
          await new Promise((r) => setTimeout(r, 500));
        }
        return percentile(xs, 50);
      };
      await waitFor(async () => hold.started === first || hold.child.exitCode !== null, 300_000);
      const rssFirst = await settledRss();
      const heldFirst = hold.held;
      const tHold = Date.now();
      hold.child.stdin!.write('go\n');
      await waitFor(async () => hold.started === CONN || hold.child.exitCode !== null, 900_000);
      out.signin_join_per_s = +((CONN - first) / ((Date.now() - tHold) / 1000)).toFixed(1);
      // Held: every socket stays connected while RSS is sampled (5 s), then 5 s more.
      const rssAll = await settledRss();
      await new Promise((r) => setTimeout(r, 5_000));
      out.connections_held = hold.held;
      out.rss_mb_servers_at_first = +rssFirst.toFixed(1);
      out.rss_mb_servers_held = +rssAll.toFixed(1);
      out.rss_mb_per_1000_conn = +(
        ((rssAll - rssFirst) / Math.max(1, hold.held - heldFirst)) *
        1000
      ).toFixed(1);
      await hold.stop();
      hostErrors(hold);
    }

    // ------------------------------------------------------------ one large round
    if (parts.has('round')) {
      const roundBounty = await sponsor(ROUND_N, 1, { minParticipants: ROUND_N, maxGroups: 8 });
      const big = startHost({
        PHASE: 'round',
        SERVER_URLS: urls,
        BOUNTY_ID: String(roundBounty),
        AGENT_KEYS: JSON.stringify(agentKeys.slice(0, ROUND_N)),
      });
      hosts.push(big);
      await waitFor(
        async () =>
          (
            await q<{ c: number }>(
              `SELECT count(*)::int AS c FROM round WHERE bounty_id = $1 AND state IN ('settled', 'aborted')`,
              [roundBounty],
            )
          )[0]!.c === 1,
        600_000,
      );
      const [r] = await q<{ id: number; timing: Record<string, number> }>(
        `SELECT id, timing FROM round WHERE bounty_id = $1 AND number = 1`,
        [roundBounty],
      );
      const summed = await q<{ n: number }>(
        `SELECT coalesce(sum(cardinality(survivors)), 0)::int AS n FROM round_group WHERE round_id = $1 AND state = 'aggregated'`,
        [r!.id],
      );
      out.round_agents = summed[0]!.n;
      const [recorded] = await chain.contracts.bounties.recordedRounds(BigInt(roundBounty));
      out.round_contributions_on_chain = recorded?.contributions.length ?? 0;
      out.stage_p50_ms = +percentile(big.latencies, 50).toFixed(1);
      out.stage_p99_ms = +percentile(big.latencies, 99).toFixed(1);
      out.stage_messages = big.latencies.length;
      const t = r!.timing;
      out.round_open_to_published_s = +((t.published! - t.open!) / 1000).toFixed(2);
      out.stage_keys_s = +((t.shares! - t.keys!) / 1000).toFixed(2);
      out.stage_shares_s = +((t.masked! - t.shares!) / 1000).toFixed(2);
      out.stage_masked_s = +((t.confirm! - t.masked!) / 1000).toFixed(2);
      out.stage_confirm_s = +((t.unmask! - t.confirm!) / 1000).toFixed(2);
      out.stage_unmask_aggregate_s = +((t.published! - t.unmask!) / 1000).toFixed(2);
      await waitFor(async () => big.rewards >= ROUND_N, 30_000).catch(() => undefined);
      out.round_rewards_received = big.rewards;
      await big.stop();
      hostErrors(big);
    }

    // ------------------------------------------------------------ soak with dropouts
    if (parts.has('soak')) {
      const soakBounty = await sponsor(SOAK_N, SOAK_ROUNDS, {
        minParticipants: Math.ceil(SOAK_N / 2),
        maxGroups: 4,
        minGroupSize: 5,
      });
      const soak = startHost({
        PHASE: 'soak',
        SERVER_URLS: urls,
        BOUNTY_ID: String(soakBounty),
        AGENT_KEYS: JSON.stringify(agentKeys.slice(0, SOAK_N)),
        DROP_P: '0.1',
        ROUNDS: String(SOAK_ROUNDS),
      });
      hosts.push(soak);
      const rssAt = new Map<number, number>();
      const tSoak = Date.now();
      await waitFor(async () => {
        const rows = await q<{ ledger_round: number }>(
          `SELECT ledger_round FROM round WHERE bounty_id = $1 AND state = 'settled'`,
          [soakBounty],
        );
        for (const row of rows) {
          if (!rssAt.has(row.ledger_round))
            rssAt.set(
              row.ledger_round,
              servers.reduce((s, x) => s + rssMb(x.pid), 0),
            );
        }
        return rows.length >= SOAK_ROUNDS || soak.child.exitCode !== null;
      }, 1_500_000);
      out.soak_s = +((Date.now() - tSoak) / 1000).toFixed(1);
      const states = await q<{ state: string; c: number }>(
        `SELECT state, count(*)::int AS c FROM round WHERE bounty_id = $1 GROUP BY state`,
        [soakBounty],
      );
      const by = Object.fromEntries(states.map((s) => [s.state, s.c]));
      out.soak_rounds_settled = by.settled ?? 0;
      out.soak_rounds_aborted = by.aborted ?? 0;
      const chainRounds = (await chain.contracts.bounties.recordedRounds(BigInt(soakBounty))).map(
        (x) => Number(x.round),
      );
      out.soak_rounds_recorded_on_chain = chainRounds.length;
      out.soak_rounds_recorded_twice = chainRounds.length - new Set(chainRounds).size;
      const [drops] = await q<{ picked: number; dropped: number }>(
        `SELECT count(*)::int AS picked, count(*) FILTER (WHERE p.progress = 'dropped')::int AS dropped
           FROM participant p JOIN round r ON r.id = p.round_id WHERE r.bounty_id = $1`,
        [soakBounty],
      );
      out.soak_dropout_share = +(drops!.dropped / Math.max(1, drops!.picked)).toFixed(3);
      out.soak_agents_dropped_on_purpose = soak.dropped;
      const from = rssAt.get(RSS_FROM);
      const to = rssAt.get(SOAK_ROUNDS);
      out[`soak_rss_mb_round${RSS_FROM}`] = from === undefined ? null : +from.toFixed(1);
      out[`soak_rss_mb_round${SOAK_ROUNDS}`] = to === undefined ? null : +to.toFixed(1);
      out.soak_rss_growth_5_to_50 =
        from === undefined || to === undefined ? null : +(to / from - 1).toFixed(4);
      await soak.stop();
      hostErrors(soak);
    }
  } finally {
    for (const h of hosts) await h.stop();
    for (const s of servers.reverse()) {
      if (s.child.exitCode === null) {
        s.child.kill('SIGTERM');
        await new Promise((r) => s.child.once('exit', r));
      }
    }
    await db?.destroy();
    await dropSchema(DATABASE_URL, schema);
    await chain.stop!();
  }
  const serverErrorCount = servers.reduce((s, x) => s + x.errors, 0);
  for (const e of serverErrors.slice(0, 5)) console.error('server error:', e);
  out.agent_errors = agentErrors;
  out.server_errors = serverErrorCount;
  out.errors = agentErrors + serverErrorCount;
  out.total_s = +((Date.now() - t0) / 1000).toFixed(1);
  return out;
}

// ---------------------------------------------------------------- the agents' host

function report(e: HostReport): void {
  process.stdout.write(JSON.stringify(e) + '\n');
}

/**
 * Child process: the agents, every other one on each serving instance, training a fixed small
 * delta. PHASE `hold` signs in and joins; `round` also times each stage message to its
 * acknowledgement; `soak` drops agents at random (DROP_P a round) and brings them back as fresh
 * agents once the round they left is over.
 */
async function agentHost(): Promise<void> {
  const keys = JSON.parse(process.env.AGENT_KEYS!) as string[];
  const urls = JSON.parse(process.env.SERVER_URLS!) as string[];
  const bountyId = Number(process.env.BOUNTY_ID);
  const phase = process.env.PHASE as 'hold' | 'round' | 'soak';
  const dropP = Number(process.env.DROP_P ?? 0);
  const rounds = Number(process.env.ROUNDS ?? 1);
  const aggregated = new Set<number>();
  const delta = new Float32Array(PARAMS).fill(0.001);
  const live = new Map<number, ProtocolAgent>();
  let held = 0;
  let started = 0;
  let stopping = false;
  /** Agents stopped on purpose, waiting for the end of the round they left. */
  const away = new Map<number, number>();
  const DROP_POINTS = ['round', 'keys', 'shares', 'masked', 'confirm'] as const;

  const launch = async (i: number): Promise<void> => {
    const sentAt = new Map<Stage, number>();
    let dropAt: (typeof DROP_POINTS)[number] | undefined;
    let gone = false;
    let connected = false;
    const leave = (roundId: number) => {
      gone = true;
      if (connected) held--;
      connected = false;
      away.set(i, roundId);
      agent.stop();
      report({ type: 'dropped' });
    };
    /** Times each stage message from the hand-over to the socket to its acknowledgement. */
    class TimedAgent extends ProtocolAgent {
      protected override outgoing(stage: Stage, message: unknown): unknown {
        sentAt.set(stage, performance.now());
        return message;
      }
    }
    const agent: ProtocolAgent = new TimedAgent({
      serverUrl: urls[i % urls.length]!,
      wallet: new Wallet(keys[i]!),
      bountyId,
      reconnect: false,
      train: async () => ({ delta, samples: 10 }),
      onEvent: (e) => {
        if (gone || stopping) return;
        if (e.type === 'joined' && !connected) {
          connected = true;
          held++;
        } else if (e.type === 'disconnected') {
          if (connected) held--;
          connected = false;
          report({ type: 'error', detail: { agent: i, disconnected: e.detail } });
        } else if (e.type === 'error') {
          report({ type: 'error', detail: { agent: i, ...(e.detail as object) } });
        } else if (e.type === 'reward') {
          report({ type: 'reward' });
        } else if (e.type === 'round') {
          dropAt =
            phase === 'soak' && Math.random() < dropP
              ? DROP_POINTS[Math.floor(Math.random() * DROP_POINTS.length)]
              : undefined;
          if (dropAt === 'round') leave(e.roundId!);
        } else if (e.type === 'sent') {
          const at = sentAt.get(e.stage!);
          if (phase === 'round' && at !== undefined)
            report({ type: 'latency', stage: e.stage, ms: performance.now() - at });
          if (dropAt === e.stage) leave(e.roundId!);
        } else if (e.type === 'round-end') {
          if ((e.detail as { state?: string }).state === 'aggregated') aggregated.add(e.roundId!);
          // Agents that left this round come back now, as a fresh process would (unless it was
          // the bounty's last round).
          if (aggregated.size >= rounds) return;
          for (const [j, roundId] of away) {
            if (roundId !== e.roundId) continue;
            away.delete(j);
            setTimeout(
              () =>
                void launch(j).catch((err: unknown) =>
                  report({ type: 'error', detail: String(err) }),
                ),
              200,
            );
          }
        }
      },
    });
    live.set(i, agent);
    await agent.start();
  };

  process.once('SIGTERM', () => {
    stopping = true;
    for (const a of live.values()) a.stop();
    process.exit(0);
  });
  setInterval(() => report({ type: 'held', n: held }), 500).unref();
  // A bounded number of sign-ins in flight, as agents arriving over time would be.
  let next = 0;
  const launchUpTo = (end: number) =>
    Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < end) {
          const i = next++;
          try {
            await launch(i);
          } catch (err) {
            report({ type: 'error', detail: { agent: i, start: String(err) } });
          }
          report({ type: 'held', n: held });
          report({ type: 'started', n: ++started });
        }
      }),
    );
  const first = Number(process.env.FIRST ?? keys.length);
  await launchUpTo(first);
  if (first < keys.length) {
    // The rest once the parent has measured (a line on stdin).
    await new Promise((r) => createInterface({ input: process.stdin }).once('line', r));
    await launchUpTo(keys.length);
  }
}

if (process.env.SCALE_AGENT_HOST === '1') {
  agentHost().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
