/** Test helpers: the CLI run in process with its output captured. */
import { run } from './main.js';
import type { Io } from './io.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
  /** stdout parsed as one JSON document. */
  json<T = Record<string, unknown>>(): T;
}

export async function cli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  let out = '';
  let err = '';
  const io: Io = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    env: { PATH: process.env.PATH, ...env },
    isTTY: false,
  };
  const code = await run(argv, io);
  return {
    code,
    out,
    err,
    json: <T>() => JSON.parse(out) as T,
  };
}
