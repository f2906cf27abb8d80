/**
 * Where the chain, the contracts and the server are: flags first, then the environment, then a
 * deployment file, then the server's `/chain` document. Also the small parsers every command
 * shares (bounty ids, token amounts) and JSON over HTTP with typed errors.
 */
import { readFile } from 'node:fs/promises';
import { formatUnits, getAddress, isAddress, parseUnits, type JsonRpcProvider } from 'ethers';
import {
  attachTributary,
  makeProvider,
  type TributaryAddresses,
  type TributaryContracts,
} from '../../contracts/index.js';
import { CliError, fail } from './errors.js';
import type { Io } from './io.js';

/** Global options (see main.ts). */
export interface GlobalOptions {
  rpc?: string;
  contracts?: string;
  deployment?: string;
  server?: string;
  fromBlock?: string;
  json?: boolean;
  key?: string;
  keystore?: string;
  passwordFile?: string;
}

/** A deployment file: what `tributary deploy` and `tributary demo` write. */
export interface Deployment {
  rpcUrl?: string;
  chainId?: number;
  contracts?: TributaryAddresses;
  server?: string;
  coordinator?: string;
  /** First block worth scanning for events. */
  fromBlock?: number;
}

export interface Context {
  io: Io;
  opts: GlobalOptions;
  json: boolean;
  provider: JsonRpcProvider;
  addresses: TributaryAddresses;
  contracts: TributaryContracts;
  server?: string;
  coordinator?: string;
  fromBlock: number;
  close(): void;
}

function parseAddresses(text: string, source: string): TributaryAddresses {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return fail('NO_DEPLOYMENT', `${source} is not JSON`);
  }
  const inner = (o['contracts'] ?? o['addresses'] ?? o) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const k of ['token', 'bounties', 'registry']) {
    const v = inner[k];
    if (typeof v !== 'string' || !isAddress(v)) {
      return fail('NO_DEPLOYMENT', `${source} lacks a valid "${k}" contract address`);
    }
    out[k] = getAddress(v);
  }
  return out as unknown as TributaryAddresses;
}

async function readDeployment(path: string): Promise<Deployment> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return fail('NO_DEPLOYMENT', `cannot read the deployment file ${path}`);
  }
  let d: Deployment;
  try {
    d = JSON.parse(text) as Deployment;
  } catch {
    return fail('NO_DEPLOYMENT', `${path} is not JSON`);
  }
  if (d.contracts) d.contracts = parseAddresses(JSON.stringify(d.contracts), path);
  return d;
}

export function serverUrl(
  opts: GlobalOptions,
  io: Io,
  deployment?: Deployment,
): string | undefined {
  const s = opts.server ?? io.env['TRIBUTARY_SERVER'] ?? deployment?.server;
  return s ? s.replace(/\/+$/, '') : undefined;
}

/** Connects to the chain and the contracts; commands call `close()` when done. */
export async function connect(opts: GlobalOptions, io: Io): Promise<Context> {
  const depPath = opts.deployment ?? io.env['TRIBUTARY_DEPLOYMENT'];
  const dep: Deployment = depPath ? await readDeployment(depPath) : {};
  const server = serverUrl(opts, io, dep);
  let rpc = opts.rpc ?? io.env['CHAIN_RPC_URL'] ?? dep.rpcUrl;
  let addresses: TributaryAddresses | undefined;
  const contractsArg = opts.contracts ?? io.env['CONTRACT_ADDRESSES'];
  if (contractsArg) {
    const text = contractsArg.trim().startsWith('{')
      ? contractsArg
      : await readFile(contractsArg, 'utf8').catch(() =>
          fail('NO_DEPLOYMENT', `cannot read ${contractsArg}`),
        );
    addresses = parseAddresses(text, '--contracts');
  } else addresses = dep.contracts;
  let coordinator = dep.coordinator;
  if ((!rpc || !addresses) && server) {
    // The server may announce its chain: { chainId, rpcUrl?, contracts, coordinator? }.
    const doc = await getJson<Deployment>(server, '/chain').catch((e: unknown) => {
      if (e instanceof CliError && e.code === 'SERVER_UNSUPPORTED') return undefined;
      throw e;
    });
    if (doc) {
      rpc ??= doc.rpcUrl;
      addresses ??= doc.contracts
        ? parseAddresses(JSON.stringify(doc.contracts), '/chain')
        : undefined;
      coordinator ??= doc.coordinator;
    }
  }
  if (!rpc) {
    return fail(
      'NO_DEPLOYMENT',
      'no chain: pass --rpc <url>, set CHAIN_RPC_URL, or pass --deployment <file>',
    );
  }
  if (!addresses) {
    return fail(
      'NO_DEPLOYMENT',
      'no contract addresses: pass --contracts \'{"token":..,"bounties":..,"registry":..}\', set CONTRACT_ADDRESSES, or pass --deployment <file>',
    );
  }
  // Probe with a plain request: ethers logs and retries forever on an endpoint that is down.
  const chainId = await probeChain(rpc);
  if (chainId === undefined)
    return fail('CHAIN_UNREACHABLE', `the chain RPC endpoint ${rpc} does not answer`);
  const provider = makeProvider(rpc);
  const fromBlock =
    opts.fromBlock !== undefined
      ? parseCount(opts.fromBlock, '--from-block', 0)
      : (dep.fromBlock ?? 0);
  return {
    io,
    opts,
    json: Boolean(opts.json),
    provider,
    addresses,
    contracts: attachTributary(addresses, provider),
    server,
    coordinator,
    fromBlock,
    close: () => provider.destroy(),
  };
}

/** The chain id behind `rpc`, or undefined when it does not answer as JSON-RPC within 5 s. */
export async function probeChain(rpc: string): Promise<bigint | undefined> {
  try {
    const res = await fetch(rpc, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(5000),
    });
    const body = (await res.json()) as { result?: string };
    return body.result ? BigInt(body.result) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `fn` with a connected context and always closes it. */
export async function withContext<T>(
  opts: GlobalOptions,
  io: Io,
  fn: (ctx: Context) => Promise<T>,
): Promise<T> {
  const ctx = await connect(opts, io);
  try {
    return await fn(ctx);
  } finally {
    ctx.close();
  }
}

export function parseBountyId(text: string): bigint {
  if (!/^\d+$/.test(text.trim()))
    fail('BAD_ARGUMENT', `bounty id must be a positive integer, got "${text}"`);
  const id = BigInt(text.trim());
  if (id === 0n) fail('BAD_ARGUMENT', 'bounty ids start at 1');
  return id;
}

export function parseCount(text: string, name: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    fail('BAD_ARGUMENT', `${name} must be an integer >= ${min}, got "${text}"`);
  return n;
}

export function parseTokens(text: string, name: string, decimals = 18): bigint {
  try {
    const v = parseUnits(text.trim(), decimals);
    if (v < 0n) throw new Error('negative');
    return v;
  } catch {
    return fail(
      'BAD_ARGUMENT',
      `${name} must be a non-negative token amount such as 1000 or 2.5, got "${text}"`,
    );
  }
}

export function showTokens(v: bigint, decimals = 18): string {
  return formatUnits(v, decimals);
}

/** Requires the bounty to exist on chain (UNKNOWN_BOUNTY otherwise) and returns its state. */
export async function requireBounty(ctx: Context, id: bigint) {
  const count = await ctx.contracts.bounties.bountyCount();
  if (id > count) fail('UNKNOWN_BOUNTY', `no bounty ${id} on chain (there are ${count})`);
  return ctx.contracts.bounties.getBounty(id);
}

export function requireServer(server: string | undefined, why: string): string {
  if (!server) return fail('NO_SERVER', `${why}: pass --server <url> or set TRIBUTARY_SERVER`);
  return server;
}

/** A request to the aggregator; its `{ error: { code, message } }` bodies become CliErrors. */
export async function request(server: string, path: string, init?: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(`${server}${path}`, init);
  } catch {
    return fail('SERVER_UNREACHABLE', `${server || path} does not answer`);
  }
  if (res.ok) return res;
  let body: { error?: { code?: string; message?: string } } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    /* not JSON */
  }
  const msg = body.error?.message ?? `HTTP ${res.status}`;
  if (res.status === 404 && /^Cannot (GET|POST|PUT)/.test(msg)) {
    return fail('SERVER_UNSUPPORTED', `the server has no route ${init?.method ?? 'GET'} ${path}`);
  }
  throw new CliError(
    body.error?.code ?? 'SERVER_ERROR',
    `server: ${msg} (${init?.method ?? 'GET'} ${path})`,
  );
}

export async function getJson<T>(server: string, path: string): Promise<T> {
  return (await (await request(server, path)).json()) as T;
}
