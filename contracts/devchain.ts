/**
 * A local development chain: anvil from `@foundry-rs/anvil` on a free port, with funded keys.
 * Used by tests, benchmarks and by the default run when no CHAIN_RPC_URL is set.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { JsonRpcProvider, computeAddress } from 'ethers';

const require = createRequire(import.meta.url);

export interface DevChain {
  /** JSON-RPC URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Funded private keys (10 000 ETH each), in anvil's order. */
  keys: string[];
  /** The addresses of `keys`. */
  addresses: string[];
  provider: JsonRpcProvider;
  /** Stops anvil and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

export interface DevChainOptions {
  /** Number of funded accounts (default 10). */
  accounts?: number;
  /** Milliseconds to wait for anvil to listen (default 20 000). */
  startTimeoutMs?: number;
}

/**
 * An ethers provider configured for a local chain: a static network (no chain-id polling),
 * no result cache (with the default cache a second transaction reuses a stale nonce) and one
 * request per HTTP call.
 */
export function makeProvider(url: string): JsonRpcProvider {
  return new JsonRpcProvider(url, undefined, {
    staticNetwork: true,
    cacheTimeout: -1,
    batchMaxCount: 1,
  });
}

/** Path of the anvil binary shipped in the platform package of `@foundry-rs/anvil`. */
export function anvilBinary(): string {
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as string];
  if (!arch) throw new Error(`anvil: unsupported architecture ${process.arch}`);
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(
      `anvil: package ${pkg} is not installed (npm ci installs it as an optional dependency)`,
    );
  }
  return join(dir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Never leave an anvil behind when the process ends without calling stop().
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Starts anvil on a free port (`--port 0`) and resolves once it is listening. */
export async function startDevChain(opts: DevChainOptions = {}): Promise<DevChain> {
  const accounts = opts.accounts ?? 10;
  if (!Number.isInteger(accounts) || accounts < 1)
    throw new Error(`accounts must be a positive integer`);
  const child = spawn(
    anvilBinary(),
    ['--port', '0', '--accounts', String(accounts), '--hardfork', 'prague'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  live.add(child);
  installExitHook();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => live.delete(child)).catch(() => undefined);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return exited;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
  };

  try {
    const { url, keys } = await new Promise<{ url: string; keys: string[] }>((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `anvil did not start within ${opts.startTimeoutMs ?? 20000} ms: ${err || out}`,
            ),
          ),
        opts.startTimeoutMs ?? 20000,
      );
      child.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`anvil exited with code ${code}: ${err || out}`));
      });
      const onData = (d: Buffer): void => {
        out += d.toString();
        const m = /Listening on ([\d.]+):(\d+)/.exec(out);
        if (!m) return;
        clearTimeout(timer);
        // Keep draining stdout (anvil logs every request) so that it never blocks on a full pipe.
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        const section = out.slice(out.indexOf('Private Keys'));
        const found = [...section.matchAll(/^\((\d+)\) (0x[0-9a-fA-F]{64})\s*$/gm)].map(
          (k) => k[2] as string,
        );
        resolve({ url: `http://${m[1]}:${m[2]}`, keys: found.slice(0, accounts) });
      };
      child.stdout?.on('data', onData);
    });
    if (keys.length !== accounts)
      throw new Error(`anvil printed ${keys.length} keys, expected ${accounts}`);
    const provider = makeProvider(url);
    const addresses = keys.map((k) => computeAddress(k));
    return {
      url,
      keys,
      addresses,
      provider,
      stop: async () => {
        provider.destroy();
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
