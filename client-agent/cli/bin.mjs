#!/usr/bin/env node
// Entry point of the `tributary` command: the compiled program in dist/ (`npm run build`, run by
// npm install / npm ci through `prepare`), so a call does not compile TypeScript. A checkout
// without dist/ runs the sources through tsx instead.
import { existsSync } from 'node:fs';

const dist = new URL('../../dist/client-agent/cli/main.js', import.meta.url);
let main;
if (existsSync(dist)) main = await import(dist.href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  main = await import('./main.ts');
}
process.exit(await main.run(process.argv.slice(2)));
