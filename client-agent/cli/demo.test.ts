/**
 * `tributary demo` end to end (anvil, the aggregator as a child process on the shared PostgreSQL
 * and Redis, three agents on shards of MNIST), and the installed program's exit codes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli } from './test-kit.js';

const here = dirname(fileURLToPath(import.meta.url));
const services = {
  DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
};

describe('tributary demo', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-demo-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('walks a bounty through every journey', async () => {
    const r = await cli(
      ['--json', 'demo', '--agents', '3', '--rounds', '1', '--samples', '120', '--dir', dir],
      services,
    );
    if (r.code !== 0) throw new Error(`demo failed: ${r.out} ${r.err}`);
    const s = r.json<{
      agents: { rounds: unknown[] }[];
      claims: { claimed: string }[];
      audit: { pass: boolean; rows: unknown[] };
      model: { verified: boolean; dir: string };
    }>();
    expect(s.agents.every((a) => a.rounds.length === 1)).toBe(true);
    expect(s.claims.reduce((t, c) => t + BigInt(c.claimed), 0n)).toBe(1000n * 10n ** 18n);
    expect(s.audit.pass).toBe(true);
    expect(s.audit.rows).toHaveLength(3);
    expect(s.model.verified).toBe(true);
    expect(JSON.parse(await readFile(join(s.model.dir, 'model.json'), 'utf8'))).toHaveProperty(
      'modelTopology',
    );
  });
});

describe('the installed program', () => {
  it('exits 2 with a coded message and no stack trace on bad input', () => {
    const r = spawnSync(
      process.execPath,
      [join(here, 'bin.mjs'), 'claim', '1', '--rpc', 'http://127.0.0.1:9', '--contracts', '{}'],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, TRIBUTARY_KEY: '0x' + '22'.repeat(32) },
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'error [NO_DEPLOYMENT]: --contracts lacks a valid "token" contract address\n',
    );
    expect(r.stdout).toBe('');
  });
});
