/**
 * Keeps the README's benchmark tables equal to the committed results: each table sits between
 * `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` and is rewritten from results/NAME.json.
 * Run by the benchmark runner after each benchmark, or alone: `npx tsx test/bench/readme.ts`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const readmePath = join(here, '..', '..', 'README.md');

/** Targets named by the issues: [comparison, bound]. */
export const TARGETS: Record<string, [string, number]> = {
  prg_keystream_speedup: ['>=', 1.0],
  mask_vs_keystream: ['<=', 1.5],
  server_vs_floor_n100_drop10: ['<=', 1.3],
  comm_expansion_n100: ['<=', 1.05],
  gas_per_contribution_100: ['<=', 8000],
  secure_vs_plain_pp: ['<=', 0.2],
  iid_vs_central_pp: ['<=', 1.5],
  bad_reward_share: ['<=', 0.05],
  spearman_vs_exact_shapley: ['>=', 0.9],
  overhead_s_n100: ['<=', 2.0],
  round_secure_vs_plain_n100: ['<=', 1.5],
  server_ms_per_client_n1000_vs_n100: ['<=', 1.6],
  server_ms_per_client_n5000_vs_n100: ['<=', 2.0],
  live_update_ms_p95: ['<=', 500],
  model_shift_hostile_vs_honest: ['<=', 1.5],
  honest_paid_with_garbage_shares: ['>=', 1.0],
  attacker_reward_share: ['<=', 0],
  accuracy_drop_pp_one_attacker: ['<=', 1.0],
  connections_held: ['>=', 500],
  errors: ['<=', 0],
  round_agents: ['>=', 200],
  soak_rounds_settled: ['>=', 50],
  soak_rss_growth_5_to_50: ['<', 0.1],
};

export function table(result: Record<string, unknown>): string {
  const rows = Object.entries(result).filter(([k]) => k !== 'measured_at');
  const lines = ['| figure | value | target | met |', '| --- | ---: | ---: | :---: |'];
  for (const [k, v] of rows) {
    const t = TARGETS[k];
    const met =
      t && typeof v === 'number'
        ? (t[0] === '<=' ? v <= t[1] : t[0] === '<' ? v < t[1] : v >= t[1])
          ? 'yes'
          : '**no**'
        : '';
    lines.push(`| \`${k}\` | ${String(v)} | ${t ? `${t[0]} ${t[1]}` : ''} | ${met} |`);
  }
  if (typeof result.measured_at === 'string')
    lines.push('', `Measured ${result.measured_at.slice(0, 16)} UTC.`);
  return lines.join('\n');
}

export function updateReadme(name: string): boolean {
  const results = join(here, 'results', `${name}.json`);
  if (!existsSync(results) || !existsSync(readmePath)) return false;
  const readme = readFileSync(readmePath, 'utf8');
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const a = readme.indexOf(open);
  const b = readme.indexOf(close);
  if (a < 0 || b < a) return false;
  const body = table(JSON.parse(readFileSync(results, 'utf8')) as Record<string, unknown>);
  writeFileSync(readmePath, `${readme.slice(0, a + open.length)}\n\n${body}\n\n${readme.slice(b)}`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const name of ['aggregation', 'gas', 'accuracy', 'round', 'robustness', 'web', 'scale'])
    updateReadme(name);
}
