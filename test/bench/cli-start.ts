/**
 * `cli_start_ms`: wall time of `tributary --help` through the installed entry point
 * (client-agent/cli/bin.mjs, which runs the compiled dist/), median of 10 runs after one warm-up;
 * `cli_start_tsx_ms` the same program run from its sources through tsx, as a checkout without
 * dist/ does, measured alternately with it. Part of the round benchmark's figures; run alone
 * (`npx tsx test/bench/cli-start.ts`) it merges them into results/round.json and the README table
 * without rerunning the rounds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './run.js';
import { updateReadme } from './readme.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '..', '..');

function wallMs(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function cliStart(runs = 10): BenchResult {
  if (!existsSync(join(ROOT, 'dist', 'client-agent', 'cli', 'main.js')))
    throw new Error('no dist/: run `npm run build` (npm install does it) first');
  const bin = ['client-agent/cli/bin.mjs', '--help'];
  const tsx = ['--import', 'tsx', 'client-agent/cli/main.ts', '--help'];
  wallMs(bin);
  wallMs(tsx);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(wallMs(bin));
    b.push(wallMs(tsx));
  }
  const ms = median(a);
  const tsxMs = median(b);
  return {
    cli_start_ms: Math.round(ms),
    cli_start_tsx_ms: Math.round(tsxMs),
    cli_start_vs_tsx: +(ms / tsxMs).toFixed(3),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const figures = cliStart();
  const path = join(here, 'results', 'round.json');
  const round = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeFileSync(path, JSON.stringify({ ...round, ...figures }, null, 2) + '\n');
  updateReadme('round');
  console.table(Object.entries(figures).map(([figure, value]) => ({ figure, value })));
}
