/**
 * Fault-test kit: the aggregator in a child process (so that a test can SIGKILL it), a JSON-RPC
 * proxy between the aggregator and the chain that a test can cut or make lose a transaction's
 * reply, a throwaway redis-server to kill and restart, and the two checks every fault case ends
 * with: the chain's round records counted, and the public audit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditBounty, recordFromListing } from '../../client-agent/audit/index.js';
import { topic } from '../../contracts/events.js';
import type { Chain } from '../chain/chain.service.js';
import { freePort } from '../infra/embedded.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServerProcess {
  url: string;
  /** Starts the aggregator (again) with the same environment; resolves once it answers HTTP. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown hook runs, jobs stay locked, sockets drop. */
  kill(): Promise<void>;
}

/**
 * `node --import tsx server/main.ts` with `env` on top of a clean environment; its output goes to
 * `log` (e.g. process.stderr) or nowhere.
 */
export async function serverProcess(
  env: Record<string, string>,
  log?: NodeJS.WritableStream,
): Promise<ServerProcess> {
  const port = Number(env.PORT ?? (await freePort()));
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const exited = (c: ChildProcess) =>
    new Promise<void>((r) =>
      c.exitCode !== null || c.signalCode ? r() : c.once('exit', () => r()),
    );
  return {
    url,
    async start() {
      const c = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          NODE_ENV: 'test',
          HOST: '127.0.0.1',
          ...env,
          PORT: String(port),
        },
        stdio: ['ignore', log ? 'pipe' : 'ignore', 'pipe'],
      });
      child = c;
      // The end of stderr names the reason when the process exits before it serves.
      let tail = '';
      c.stderr!.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-2000)));
      if (log) {
        c.stdout!.pipe(log, { end: false });
        c.stderr!.pipe(log, { end: false });
      }
      const until = Date.now() + 60_000;
      for (;;) {
        if (c.exitCode !== null) throw new Error(`aggregator exited with ${c.exitCode}: ${tail}`);
        const ok = await fetch(`${url}/chain`)
          .then((r) => r.ok)
          .catch(() => false);
        if (ok) return;
        if (Date.now() > until) throw new Error('aggregator did not start within 60 s');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async kill() {
      if (!child) return;
      const c = child;
      child = undefined;
      c.kill('SIGKILL');
      await exited(c);
    },
  };
}

export type ProxyMode =
  /** Forward everything. */
  | 'pass'
  /** Refuse: every connection is reset (the RPC is unreachable). */
  | 'down'
  /** Forward until the next `eth_sendRawTransaction`, then go `down` before sending it. */
  | 'down-at-next-send'
  /**
   * Forward the next `eth_sendRawTransaction` to the chain but never answer it (the transaction
   * is mined, the sender never learns); everything after it hangs too until the mode changes.
   */
  | 'lose-next-send';

/** JSON-RPC over HTTP between the aggregator and anvil, with faults on demand. */
export interface ChainProxy {
  url: string;
  readonly mode: ProxyMode;
  /** Switches the mode; withheld requests' connections are reset (the sender sees a lost link). */
  set(mode: ProxyMode): void;
  /** `eth_sendRawTransaction` requests forwarded so far. */
  sends: number;
  /** Resolves when a transaction was forwarded and its reply withheld (mode `lose-next-send`). */
  lost(): Promise<void>;
  /** Resolves when mode `down-at-next-send` went down. */
  cut(): Promise<void>;
  close(): Promise<void>;
}

export async function chainProxy(target: string): Promise<ChainProxy> {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  const held: IncomingMessage[] = [];
  let onLost: (() => void) | undefined;
  let lostOnce = false;
  let onCut: (() => void) | undefined;
  let cutOnce = false;
  const state: ChainProxy = {
    url: '',
    mode: 'pass',
    set(mode) {
      (state as { mode: ProxyMode }).mode = mode;
      lostOnce = false;
      cutOnce = false;
      for (const r of held.splice(0)) r.socket.destroy();
    },
    sends: 0,
    cut: () => (cutOnce ? Promise.resolve() : new Promise<void>((r) => (onCut = r))),
    lost: () => (lostOnce ? Promise.resolve() : new Promise<void>((r) => (onLost = r))),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (state.mode === 'down') return void req.socket.destroy();
      const body = Buffer.concat(chunks);
      const isSend = body.includes('eth_sendRawTransaction');
      if (isSend && state.mode === 'down-at-next-send') {
        (state as { mode: ProxyMode }).mode = 'down';
        cutOnce = true;
        onCut?.();
        return void req.socket.destroy();
      }
      if (state.mode === 'lose-next-send' && lostOnce) return void held.push(req);
      const up = request(
        {
          host: to.hostname,
          port: to.port,
          path: to.pathname,
          method: req.method,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (upRes) => {
          const out: Buffer[] = [];
          upRes.on('data', (c: Buffer) => out.push(c));
          upRes.on('end', () => {
            if (isSend) state.sends++;
            if (isSend && state.mode === 'lose-next-send' && !lostOnce) {
              lostOnce = true;
              held.push(req);
              onLost?.();
              return;
            }
            if (state.mode === 'down') return void req.socket.destroy();
            res.writeHead(upRes.statusCode ?? 502, { 'content-type': 'application/json' });
            res.end(Buffer.concat(out));
          });
        },
      );
      up.on('error', () => req.socket.destroy());
      up.end(body);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  state.url = `http://127.0.0.1:${port}`;
  return state;
}

/** A redis-server of our own that keeps nothing on disk, to kill and start again on one port. */
export interface RedisProcess {
  url: string;
  start(): Promise<void>;
  kill(): Promise<void>;
}

export async function redisProcess(): Promise<RedisProcess> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const c = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = c;
      await new Promise<void>((ok, fail) => {
        let out = '';
        c.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('Ready to accept connections')) ok();
        });
        c.once('exit', (code) => fail(new Error(`redis-server exited with ${code}: ${out}`)));
      });
    },
    async kill() {
      const c = child;
      child = undefined;
      if (!c) return;
      c.kill('SIGKILL');
      if (c.exitCode === null && !c.signalCode) await new Promise((r) => c.once('exit', r));
    },
  };
}

/**
 * Per ledger round, how many `RoundRecorded` and `ContributionRecorded` events the chain holds,
 * and the transactions of the former.
 */
export async function settlementsOn(
  chain: Chain,
  bountyId: number,
): Promise<Map<number, { records: number; contributions: number; tx: string[] }>> {
  const iface = chain.contracts.bounties.interface;
  const count = async (event: string) =>
    chain.provider.getLogs({
      address: chain.addresses.bounties,
      topics: [iface.getEvent(event)!.topicHash, topic(BigInt(bountyId))],
      fromBlock: 0,
      toBlock: 'latest',
    });
  const out = new Map<number, { records: number; contributions: number; tx: string[] }>();
  const at = (r: number) =>
    out.get(r) ?? out.set(r, { records: 0, contributions: 0, tx: [] }).get(r)!;
  for (const l of await count('RoundRecorded')) {
    const r = at(Number(BigInt(l.topics[2]!)));
    r.records++;
    r.tx.push(l.transactionHash);
  }
  for (const l of await count('ContributionRecorded'))
    at(Number(BigInt(l.topics[2]!))).contributions++;
  return out;
}

/**
 * The public audit, as `tributary audit` runs it: the chain's recorded rounds against the
 * aggregator's published record (`GET /bounties/:id/rounds`).
 */
export async function auditOf(serverUrl: string, chain: Chain, bountyId: number) {
  const id = BigInt(bountyId);
  const recorded = await chain.contracts.bounties.recordedRounds(id);
  const listing: unknown = await (await fetch(`${serverUrl}/bounties/${bountyId}/rounds`)).json();
  const { record, pending } = recordFromListing(
    id,
    listing,
    new Set(recorded.map((r) => Number(r.round))),
  );
  const { roundBudget } = await chain.contracts.bounties.getBounty(id);
  return { ...auditBounty(id, roundBudget, recorded, record), pending };
}
