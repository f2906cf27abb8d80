/**
 * Runs the forge tests (contracts/test/*.t.sol: unit, fuzz, invariant, reentrancy) with the
 * solc-js shim, offline; a forge failure fails `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function forgeBinary(): string {
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as string];
  const pkg = `@foundry-rs/forge-${process.platform}-${arch ?? process.arch}`;
  return join(
    dirname(require.resolve(`${pkg}/package.json`)),
    'bin',
    process.platform === 'win32' ? 'forge.exe' : 'forge',
  );
}

describe('forge', () => {
  it('passes contracts/test/*.t.sol', () => {
    const run = spawnSync(forgeBinary(), ['test', '--offline', '--color', 'never'], {
      cwd: here,
      encoding: 'utf8',
      env: {
        ...process.env,
        FOUNDRY_OFFLINE: 'true',
        FOUNDRY_DISABLE_NIGHTLY_WARNING: '1',
        NO_COLOR: '1',
      },
      timeout: 110_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const output = `${run.stdout ?? ''}\n${run.stderr ?? ''}`;
    if (run.error) throw run.error;
    if (run.status !== 0) throw new Error(`forge test failed (exit ${run.status}):\n${output}`);
    expect(output).toMatch(/(\d+) tests passed, 0 failed/);
    const passed = Number(/(\d+) tests passed, 0 failed/.exec(output)?.[1]);
    expect(passed).toBeGreaterThanOrEqual(30);
  });
});
