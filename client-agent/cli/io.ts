/**
 * Where the CLI writes: tables for people, one JSON document for machines (`--json`), progress
 * bars on a terminal's stderr only. Commands receive an `Io` so tests run them in process.
 */
import cliProgress from 'cli-progress';

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress bars are drawn only then). */
  isTTY: boolean;
}

export const processIo: Io = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  env: process.env,
  isTTY: Boolean(process.stderr.isTTY),
};

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

export type Cell = string | number | bigint | boolean | null | undefined;

/** A plain text table: header, rule, rows; numbers right-aligned. */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) =>
    rows.every((r) => {
      const c = r[i];
      return typeof c === 'number' || typeof c === 'bigint' || c === null || c === undefined;
    }),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return (
    [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n') +
    '\n'
  );
}

/** Aligned "key: value" lines. */
export function fields(pairs: readonly (readonly [string, Cell])[]): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return (
    pairs
      .map(
        ([k, v]) => `${(k + ':').padEnd(w + 1)} ${v === null || v === undefined ? '-' : String(v)}`,
      )
      .join('\n') + '\n'
  );
}

export interface Progress {
  start(total: number, label: string): void;
  update(value: number, label?: string): void;
  stop(): void;
}

const silent: Progress = { start: () => undefined, update: () => undefined, stop: () => undefined };

/** A progress bar on stderr when it is a terminal and output is not JSON; silent otherwise. */
export function progress(io: Io, json: boolean): Progress {
  if (!io.isTTY || json) return silent;
  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {value}/{total} {label}',
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (total, label) => bar.start(total, 0, { label }),
    update: (value, label) => bar.update(value, label === undefined ? {} : { label }),
    stop: () => bar.stop(),
  };
}
