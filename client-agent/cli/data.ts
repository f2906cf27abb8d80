/**
 * Data sources named on the command line: a built-in data set (`mnist`, `fashion-mnist`), a CSV
 * file (`*.csv`, label column via `--label`), or an IDX pair (`images.idx[.gz],labels.idx[.gz]`).
 * The data never leaves this process; only the trainer reads it.
 */
import { size, subset, type Dataset } from '../data/dataset.js';
import { BUILTIN_NAMES, loadBuiltin, loadCsv, loadIdx } from '../index.js';
import { fail } from './errors.js';

export interface DataOptions {
  /** Label column of a CSV file: a header name or a 0-based index. */
  label?: string;
  /** Keep only the first `limit` samples (after sharding). */
  limit?: number;
  /** "i/n": keep samples whose index is i modulo n (i in 0..n-1). */
  shard?: string;
}

export type Split = 'train' | 'test';

function parseShard(text: string): [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const i = Number(m?.[1]);
  const n = Number(m?.[2]);
  if (!m || n < 1 || i >= n)
    fail('BAD_ARGUMENT', `--shard must look like i/n with 0 <= i < n, got "${text}"`);
  return [i, n];
}

/** Loads `source`; for built-in data sets `split` picks the training or the test part. */
export async function loadData(
  source: string,
  split: Split,
  opts: DataOptions = {},
): Promise<Dataset> {
  let ds: Dataset;
  if ((BUILTIN_NAMES as readonly string[]).includes(source)) {
    const tt = await loadBuiltin(source, { trainLimit: 20000, testLimit: 5000 });
    ds = split === 'train' ? tt.train : tt.test;
  } else if (/\.csv$/i.test(source)) {
    const label =
      opts.label === undefined
        ? undefined
        : /^\d+$/.test(opts.label)
          ? Number(opts.label)
          : opts.label;
    ds = await loadCsv(source, { label });
  } else if (source.includes(',')) {
    const [images, labels, extra] = source.split(',');
    if (!images || !labels || extra !== undefined) {
      fail('BAD_ARGUMENT', `an IDX source is "images,labels", got "${source}"`);
    }
    ds = await loadIdx(images, labels);
  } else {
    return fail(
      'BAD_ARGUMENT',
      `unknown data source "${source}": use ${BUILTIN_NAMES.join(' or ')}, a .csv file, or images.idx,labels.idx`,
    );
  }
  if (opts.shard !== undefined) {
    const [i, n] = parseShard(opts.shard);
    const keep: number[] = [];
    for (let k = i; k < size(ds); k += n) keep.push(k);
    ds = subset(ds, keep);
  }
  if (opts.limit !== undefined && opts.limit < size(ds)) {
    ds = subset(
      ds,
      Array.from({ length: opts.limit }, (_, k) => k),
    );
  }
  if (size(ds) === 0) fail('BAD_ARGUMENT', `the data source ${source} holds no samples`);
  return ds;
}
