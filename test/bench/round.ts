/**
 * Round benchmark: the whole aggregator (Socket.IO, Postgres, BullMQ, chain) with n lightweight
 * agents (training skipped: a random update of a ~100k-parameter model), n = 10, 50, 100.
 *
 * - overhead_s_nN: round open -> next global model published, minus the slowest agent's local
 *   compute (here only the skipped training call). Each bounty runs four rounds: the first
 *   (cold: overhead_cold_s_nN) and three warm ones; overhead_s_nN and every figure below it are
 *   the warm round with the median overhead (all three in overhead_warm_runs_s_nN), since one
 *   round on a shared 2-core machine moves by 10-20 % from run to run. server_cpu_s_nN /
 *   agents_cpu_s_nN: CPU the aggregator and the agents' host process used in that window;
 *   overhead_agents_apart_s_nN removes all but one agent's share of the agents' CPU (an estimate
 *   for agents on their own machines).
 * - stage split (n = 100): keys, shares, masked, confirm, unmask, aggregate+publish, in seconds.
 * - round_secure_vs_plain_n100: overhead_s_n100 / the same (median warm round) for a plaintext
 *   bounty run right after on the same stack (sockets, PostgreSQL, queue, settlement;
 *   BountySpec.plaintext: updates sent unmasked, no key, share, confirm or unmask stage), with
 *   its CPU split (plain_*_n100).
 * - agent_cert_recovers_nN: ecrecovers the agents did on peers' key certificates in the warm round
 *   (each agent checks a peer's certificate once per bounty, so only peers it had not met in an
 *   earlier round cost one); everything else they check is an Ed25519 signature.
 * - floor_s_n100: bytes the round moves (model download, the four stages' messages) / loopback
 *   bandwidth measured in this run.
 * - settle_s_n100: scoring (2^G utilities) + on-chain settlement of a round, which run behind the
 *   next round; settle_overlaps_next_round says the next round opened before settlement ended.
 *
 * The agents run in one child process (this file, with ROUND_BENCH_AGENT_HOST=1) so the server
 * keeps its own core; on a 2-core machine they still share the other one.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, connect } from 'node:net';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Wallet } from 'ethers';
import { LicenceKind } from '../../contracts/index.js';
import { ProtocolAgent } from '../../client-agent/protocol/index.js';
import { startServer, type RunningServer } from '../../server/app.js';
import { startLocalChain } from '../../server/chain/attach.js';
import type { Chain } from '../../server/chain/chain.service.js';
import { loadConfig } from '../../server/config.js';
import { dropSchema } from '../../server/db/datasource.js';
import type { BountySpec } from '../../server/db/entities.js';
import { sponsorBounty, joinOnChain, syntheticTask } from '../../server/test/harness.js';
import type { BenchOptions, BenchResult } from './run.js';
import { cliStart } from './cli-start.js';

const INPUTS = 784;
const HIDDEN = 128;
const CLASSES = 10;
const PARAMS = INPUTS * HIDDEN + HIDDEN + HIDDEN * CLASSES + CLASSES; // 101 770
/** Rounds per bounty: the first (cold) and three warm ones, whose median is reported. */
const ROUNDS = 4;

/**
 * A round's overhead in seconds: open -> next model published, minus the slowest agent's local
 * compute in that round (`compute`, ms by round number).
 */
function overheadOf(compute: Map<number, number>): (r: RoundRow) => number {
  return (r) => (r.timing.published! - r.timing.open! - (compute.get(r.number) ?? 0)) / 1000;
}

/** The warm rounds (all but the first): the one with the median overhead, and all of them. */
function medianWarm(
  rounds: RoundRow[],
  overhead: (r: RoundRow) => number,
): { median: RoundRow; runs: string } {
  const warm = rounds.slice(1);
  const sorted = [...warm].sort((a, b) => overhead(a) - overhead(b));
  return {
    median: sorted[Math.floor((sorted.length - 1) / 2)]!,
    runs: warm.map((r) => overhead(r).toFixed(2)).join(' '),
  };
}

function mlpSpec(n: number, plaintext = false): BountySpec {
  const dense = (name: string, units: number, activation: string, input?: number) => ({
    class_name: 'Dense',
    config: {
      name,
      units,
      activation,
      use_bias: true,
      ...(input ? { batch_input_shape: [null, input] } : {}),
      dtype: 'float32',
      trainable: true,
      kernel_initializer: { class_name: 'Zeros', config: {} },
      bias_initializer: { class_name: 'Zeros', config: {} },
    },
  });
  return {
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 'mlp',
        layers: [dense('hidden', HIDDEN, 'relu', INPUTS), dense('out', CLASSES, 'softmax')],
      },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    },
    weightSpecs: [
      { name: 'hidden/kernel', shape: [INPUTS, HIDDEN], dtype: 'float32' },
      { name: 'hidden/bias', shape: [HIDDEN], dtype: 'float32' },
      { name: 'out/kernel', shape: [HIDDEN, CLASSES], dtype: 'float32' },
      { name: 'out/bias', shape: [CLASSES], dtype: 'float32' },
    ],
    minGroupSize: 3,
    maxGroups: 8,
    minParticipants: n,
    clip: 10,
    strategy: { name: 'fedavg' },
    train: { epochs: 1, batchSize: 32, learningRate: 0.05 },
    loss: 'categoricalCrossentropy',
    licence: { open: true },
    ...(plaintext ? { plaintext: true as const } : {}),
  };
}

/** Loopback TCP throughput, bytes per second (64 MiB through one connection). */
async function loopbackBandwidth(): Promise<number> {
  const total = 64 * 1024 * 1024;
  const chunk = Buffer.alloc(1024 * 1024, 7);
  return new Promise((resolve, reject) => {
    const srv = createServer((sock) => {
      let got = 0;
      const t0 = performance.now();
      sock.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= total) {
          const s = (performance.now() - t0) / 1000;
          sock.destroy();
          srv.close();
          resolve(total / s);
        }
      });
    });
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      const c = connect(port, '127.0.0.1', () => {
        let sent = 0;
        const pump = () => {
          while (sent < total) {
            sent += chunk.length;
            if (!c.write(chunk)) return void c.once('drain', pump);
          }
          c.end();
        };
        pump();
      });
      c.on('error', reject);
    });
  });
}

/** (time ms, process CPU ms or a counter) samples, to integrate a process's busy time over a window. */
type CpuTrace = [number, number][];

function traceCpu(trace: CpuTrace): NodeJS.Timeout {
  const sample = () => {
    const u = process.cpuUsage();
    trace.push([Date.now(), (u.user + u.system) / 1000]);
  };
  sample();
  return setInterval(sample, 50);
}

function cpuBetween(trace: CpuTrace, from: number, to: number): number {
  const at = (t: number) => {
    let best = trace[0]!;
    for (const s of trace) if (s[0] <= t) best = s;
    return best[1];
  };
  return (at(to) - at(from)) / 1000;
}

interface RoundRow {
  number: number;
  timing: Record<string, number>;
  state: string;
}

async function waitFor(pred: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > until) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function runN(
  server: RunningServer,
  chain: Chain,
  n: number,
  sponsorKey: string,
  agentKeys: string[],
  plaintext = false,
): Promise<{
  rounds: RoundRow[];
  compute: Map<number, number>;
  agentCpu: CpuTrace;
  recovers: CpuTrace;
}> {
  const validation = syntheticTask(INPUTS, CLASSES, 200, n);
  const { bountyId, sponsor } = await sponsorBounty(server, chain, {
    sponsorKey,
    spec: mlpSpec(n, plaintext),
    weights: new Float32Array(PARAMS),
    validation,
    budget: 10n ** 21n,
    rounds: ROUNDS,
    minParticipants: 3,
  });
  await chain.contracts.registry
    .connect(sponsor)
    .setLicenceTerms(BigInt(bountyId), LicenceKind.Open);
  for (const k of agentKeys) await joinOnChain(chain, k, bountyId);
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: {
      ...process.env,
      ROUND_BENCH_AGENT_HOST: '1',
      SERVER_URL: server.url,
      BOUNTY_ID: String(bountyId),
      AGENT_KEYS: JSON.stringify(agentKeys),
      ...(plaintext ? { ROUND_BENCH_PLAINTEXT: '1' } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const compute = new Map<number, number>();
  const agentCpu: CpuTrace = [];
  const recovers: CpuTrace = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const e = JSON.parse(line) as {
        type: string;
        round: number;
        ms: number;
        t: number;
        cpu: number;
        recovers: number;
      };
      if (e.type === 'compute') compute.set(e.round, Math.max(compute.get(e.round) ?? 0, e.ms));
      if (e.type === 'cpu') {
        agentCpu.push([e.t, e.cpu]);
        recovers.push([e.t, e.recovers * 1000]);
      }
    } catch {
      // not ours
    }
  });
  try {
    const settled = async () =>
      (
        (await server.ds.query(
          `SELECT count(*)::int AS c FROM round WHERE bounty_id = $1 AND state = 'settled'`,
          [bountyId],
        )) as { c: number }[]
      )[0]!.c === ROUNDS;
    await waitFor(settled, 600_000, `bounty ${bountyId} to settle ${ROUNDS} rounds`);
  } finally {
    child.kill('SIGTERM');
  }
  const rounds = (await server.ds.query(
    `SELECT number, timing, state FROM round WHERE bounty_id = $1 AND ledger_round IS NOT NULL ORDER BY number`,
    [bountyId],
  )) as RoundRow[];
  return { rounds, compute, agentCpu, recovers };
}

export async function run({ quick }: BenchOptions): Promise<BenchResult> {
  // The CLI's start first, on a machine the rounds have not yet warmed (test/bench/cli-start.ts).
  const cli = cliStart();
  // ROUND_BENCH_N=100 runs one size only (for profiling).
  const only = Number(process.env.ROUND_BENCH_N ?? 0);
  const ns = only ? [only] : quick ? [10] : [10, 50, 100];
  const maxN = Math.max(...ns);
  const chain = await startLocalChain(maxN + 2);
  const cfg = {
    ...loadConfig(),
    port: 0,
    host: '127.0.0.1',
    dbSchema: `bench_${randomBytes(4).toString('hex')}`,
    redisPrefix: `bench:${randomBytes(4).toString('hex')}`,
    stageTimeoutsMs: { keys: 60_000, shares: 60_000, masked: 60_000, unmask: 60_000 },
    gatherMs: 500,
    // Scoring and settlement run in a second instance (below), off the round's event loop.
    lanes: 'rounds' as const,
    // The plaintext comparison bounty (BountySpec.plaintext) is accepted only with this.
    allowPlaintext: true,
  };
  const server = await startServer(cfg, {
    chain,
    logger: process.env.BENCH_LOG ? ['log', 'warn', 'error'] : ['error'],
  });
  const out: BenchResult = {};
  const settler = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('../../server/main.ts', import.meta.url))],
    {
      env: {
        ...process.env,
        DATABASE_URL: server.config.databaseUrl,
        REDIS_URL: server.config.redisUrl,
        DB_SCHEMA: cfg.dbSchema,
        REDIS_PREFIX: cfg.redisPrefix,
        CHAIN_RPC_URL: chain.url,
        COORDINATOR_KEY: chain.keys![0],
        CONTRACT_ADDRESSES: JSON.stringify(chain.addresses),
        PORT: '0',
        HOST: '127.0.0.1',
        WORKER_LANES: 'settlement',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  try {
    const bandwidth = await loopbackBandwidth();
    out.loopback_MBps = Math.round(bandwidth / 1e6);
    // Other work on the machine shifts every figure here; say how busy it was.
    out.load_avg_1m_at_start = +loadavg()[0]!.toFixed(2);
    out.params = PARAMS;
    const serverCpu: CpuTrace = [];
    const timer = traceCpu(serverCpu);
    for (const n of ns) {
      const keys = chain.keys!.slice(2, 2 + n);
      const { rounds, compute, agentCpu, recovers } = await runN(
        server,
        chain,
        n,
        chain.keys![1]!,
        keys,
      );
      const cold = rounds[0]!;
      const overhead = overheadOf(compute);
      const { median: warm, runs } = medianWarm(rounds, overhead);
      out[`overhead_s_n${n}`] = +overhead(warm).toFixed(3);
      out[`overhead_warm_runs_s_n${n}`] = runs;
      out[`overhead_cold_s_n${n}`] = +overhead(cold).toFixed(3);
      out[`slowest_compute_s_n${n}`] = +((compute.get(warm.number) ?? 0) / 1000).toFixed(4);
      const t = warm.timing;
      // Where the wall time goes: the aggregator's own CPU vs the agents' (all n in one process).
      out[`server_cpu_s_n${n}`] = +cpuBetween(serverCpu, t.open!, t.published!).toFixed(3);
      const agentsCpu = cpuBetween(agentCpu, t.open!, t.published!);
      out[`agents_cpu_s_n${n}`] = +agentsCpu.toFixed(3);
      out[`agent_cert_recovers_n${n}`] = Math.round(cpuBetween(recovers, t.open!, t.published!));
      // Estimate with each agent on its own machine: the agents' protocol CPU (keys, signatures of
      // peers, Shamir shares, masks) runs serially in the one host process here; keep one agent's share.
      out[`overhead_agents_apart_s_n${n}`] = +(overhead(warm) - agentsCpu * (1 - 1 / n)).toFixed(3);
      out[`stage_keys_s_n${n}`] = +((t.shares! - t.keys!) / 1000).toFixed(3);
      out[`stage_shares_s_n${n}`] = +((t.masked! - t.shares!) / 1000).toFixed(3);
      out[`stage_masked_s_n${n}`] = +((t.confirm! - t.masked!) / 1000).toFixed(3);
      out[`stage_confirm_s_n${n}`] = +((t.unmask! - t.confirm!) / 1000).toFixed(3);
      out[`stage_unmask_s_n${n}`] = +((t.unmaskClosed! - t.unmask!) / 1000).toFixed(3);
      out[`stage_aggregate_publish_s_n${n}`] = +((t.published! - t.unmaskClosed!) / 1000).toFixed(
        3,
      );
      out[`settle_s_n${n}`] = +(
        ((cold.timing.scoredIn ?? 0) + (cold.timing.settledIn ?? 0)) /
        1000
      ).toFixed(3);
      out[`score_s_n${n}`] = +((cold.timing.scoredIn ?? 0) / 1000).toFixed(3);
      out[`settle_overlaps_next_round_n${n}`] = rounds[1]!.timing.open! < cold.timing.settled!;
      // Bytes: each agent downloads the model (4d) and sends/receives its stage messages.
      const d = PARAMS + 1;
      const groupSize = Math.ceil(n / Math.min(8, Math.floor(n / 3)));
      const k = Math.min(groupSize - 1, 2 * Math.ceil(Math.log2(groupSize)) + 2);
      const perAgent = 4 * PARAMS + 4 * d + groupSize * 200 + 2 * k * 150 + 2 * k * 40;
      const moved = n * perAgent;
      if (n === maxN) {
        out[`bytes_moved_n${n}`] = moved;
        out[`floor_s_n${n}`] = +(moved / bandwidth).toFixed(4);
        // The same round without secure aggregation, right after, on the same stack and agents.
        const plain = await runN(server, chain, n, chain.keys![1]!, keys, true);
        const plainOverhead = overheadOf(plain.compute);
        const { median: p, runs: plainRuns } = medianWarm(plain.rounds, plainOverhead);
        out[`plain_overhead_s_n${n}`] = +plainOverhead(p).toFixed(3);
        out[`plain_overhead_warm_runs_s_n${n}`] = plainRuns;
        out[`round_secure_vs_plain_n${n}`] = +(overhead(warm) / plainOverhead(p)).toFixed(3);
        out[`plain_server_cpu_s_n${n}`] = +cpuBetween(
          serverCpu,
          p.timing.open!,
          p.timing.published!,
        ).toFixed(3);
        out[`plain_agents_cpu_s_n${n}`] = +cpuBetween(
          plain.agentCpu,
          p.timing.open!,
          p.timing.published!,
        ).toFixed(3);
      }
    }
    clearInterval(timer);
  } finally {
    settler.kill('SIGTERM');
    await new Promise((r) => settler.once('exit', r));
    // Before the server closes: with no DATABASE_URL its embedded PostgreSQL stops with it.
    await dropSchema(server.config.databaseUrl!, cfg.dbSchema);
    await server.close();
    await chain.stop!();
  }
  return { ...out, ...cli };
}

/** Child process: n agents with training skipped (a random update), reporting compute times. */
async function agentHost(): Promise<void> {
  const keys = JSON.parse(process.env.AGENT_KEYS!) as string[];
  const bountyId = Number(process.env.BOUNTY_ID);
  const agents: ProtocolAgent[] = [];
  setInterval(() => {
    const u = process.cpuUsage();
    const recovers = agents.reduce((s, a) => s + a.certificateChecks, 0);
    process.stdout.write(
      JSON.stringify({ type: 'cpu', t: Date.now(), cpu: (u.user + u.system) / 1000, recovers }) +
        '\n',
    );
  }, 50).unref();
  const update = Float32Array.from({ length: PARAMS }, () => (Math.random() - 0.5) * 0.01);
  await Promise.all(
    keys.map(async (key) => {
      const agent: ProtocolAgent = new ProtocolAgent({
        serverUrl: process.env.SERVER_URL!,
        wallet: new Wallet(key),
        bountyId,
        reconnect: false,
        plaintextForBenchmarks: process.env.ROUND_BENCH_PLAINTEXT === '1',
        train: async ({ round }) => {
          const t0 = performance.now();
          const delta = new Float32Array(update);
          process.stdout.write(
            JSON.stringify({ type: 'compute', round: round.round, ms: performance.now() - t0 }) +
              '\n',
          );
          return { delta, samples: 100 };
        },
        onEvent: (e) => {
          if (e.type === 'error' || process.env.BENCH_LOG)
            process.stderr.write(`agent ${agent.address}: ${JSON.stringify(e.detail)}\n`);
        },
      });
      agents.push(agent);
      await agent.start();
    }),
  );
  process.once('SIGTERM', () => {
    for (const a of agents) a.stop();
    process.exit(0);
  });
}

if (process.env.ROUND_BENCH_AGENT_HOST === '1') {
  agentHost().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
