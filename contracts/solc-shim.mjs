#!/usr/bin/env node
// A `solc` executable for forge, backed by solc-js (the `solc` npm package), so forge needs no
// native compiler download. Serves `--version` and `--standard-json` (input on stdin); imports
// that forge did not inline are read from disk relative to the working directory or the
// include/base paths, with `@openzeppelin/...` resolved through node_modules.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const solc = require('solc');
const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);

if (args.includes('--version')) {
  const version = solc.version().replace(/\.Emscripten.*$/, '');
  process.stdout.write(
    `solc, the solidity compiler commandline interface\nVersion: ${version}.Linux.g++\n`,
  );
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write(
    `solc-shim: only --version and --standard-json are supported (got ${args.join(' ')})\n`,
  );
  process.exit(2);
}

const roots = [process.cwd(), here, join(here, '..'), join(here, '..', 'node_modules')];
for (let i = 0; i < args.length; i++) {
  if (['--base-path', '--include-path', '--allow-paths'].includes(args[i]) && args[i + 1]) {
    for (const p of args[i + 1].split(',')) roots.push(resolve(p));
  }
}

function findImport(path) {
  const candidates = isAbsolute(path) ? [path] : roots.map((r) => join(r, path));
  for (const file of candidates) {
    if (existsSync(file)) return { contents: readFileSync(file, 'utf8') };
  }
  return { error: `solc-shim: file not found: ${path}` };
}

const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const input = Buffer.concat(chunks).toString('utf8');
  process.stdout.write(solc.compile(input, { import: findImport }));
});
