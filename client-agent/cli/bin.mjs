#!/usr/bin/env node
// Entry point of the `tributary` command: runs the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('./main.ts');
process.exit(await run(process.argv.slice(2)));
