/**
 * Benchmark runner: `npm run bench -- <name> [--quick]`.
 * Each benchmark is `test/bench/<name>.ts` exporting `run({ quick })`, which returns the figures
 * as a flat JSON object; the runner writes `test/bench/results/<name>.json` and prints a table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { updateReadme } from './readme.js';

export interface BenchOptions {
  quick: boolean;
}
export type BenchResult = Record<string, number | string | boolean | null>;

const here = dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const names = args.filter((a) => !a.startsWith('--'));
  if (names.length === 0) {
    console.error(
      'usage: npm run bench -- <aggregation|gas|accuracy|round|robustness|web|scale> [--quick]',
    );
    process.exit(2);
  }
  // Machines are shared: ask for a larger share of the CPU when allowed (root), so that both
  // sides of each ratio see the same, quieter machine. Ignored when not permitted.
  try {
    setPriority(-10);
  } catch {
    /* not permitted: run at normal priority */
  }
  for (const name of names) {
    if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bad benchmark name: ${name}`);
    const mod = (await import(`./${name}.ts`)) as {
      run: (o: BenchOptions) => Promise<BenchResult>;
    };
    const started = Date.now();
    const result = await mod.run({ quick });
    const out = { ...result, quick, measured_at: new Date().toISOString() };
    mkdirSync(join(here, 'results'), { recursive: true });
    writeFileSync(join(here, 'results', `${name}.json`), JSON.stringify(out, null, 2) + '\n');
    console.log(`\n${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.table(Object.entries(result).map(([figure, value]) => ({ figure, value })));
    if (!quick) updateReadme(name);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
