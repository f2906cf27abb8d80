/**
 * IDX files (the MNIST / Fashion-MNIST format, LeCun et al.): magic 0x0000, a type byte, the
 * number of dimensions, big-endian uint32 sizes, then the values. Gzipped files are accepted.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { makeDataset, type Dataset } from './dataset.js';
import { DataError } from './errors.js';

export interface IdxArray {
  dims: number[];
  /** Raw values; only unsigned bytes (type 0x08) occur in image data sets. */
  data: Uint8Array;
}

function maybeGunzip(buf: Uint8Array): Uint8Array {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf;
}

export function parseIdx(raw: Uint8Array, source = 'IDX data'): IdxArray {
  const buf = maybeGunzip(raw);
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) {
    throw new DataError('IDX_BAD_MAGIC', `${source}: not an IDX file (bad magic number)`);
  }
  if (buf[2] !== 0x08) {
    throw new DataError(
      'IDX_BAD_MAGIC',
      `${source}: value type 0x${buf[2]!.toString(16)} is not unsigned byte (0x08)`,
    );
  }
  const nd = buf[3]!;
  if (buf.length < 4 + 4 * nd)
    throw new DataError('IDX_TRUNCATED', `${source}: header is truncated`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims = Array.from({ length: nd }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * nd;
  if (buf.length < start + count) {
    throw new DataError(
      'IDX_TRUNCATED',
      `${source}: expected ${count} values, file has ${buf.length - start}`,
    );
  }
  return { dims, data: buf.subarray(start, start + count) };
}

export interface IdxLoadOptions {
  /** Read only the first `limit` samples. */
  limit?: number;
  numClasses?: number;
}

/** Images scaled to [0, 1] with shape [rows, cols, 1]; labels as class indices. */
export function idxToDataset(
  images: IdxArray,
  labels: IdxArray,
  opts: IdxLoadOptions = {},
): Dataset {
  if (images.dims.length !== 3 || labels.dims.length !== 1) {
    throw new DataError(
      'IDX_MISMATCH',
      `expected images [n, rows, cols] and labels [n], got [${images.dims}] and [${labels.dims}]`,
    );
  }
  const [n, rows, cols] = images.dims as [number, number, number];
  if (labels.dims[0] !== n) {
    throw new DataError('IDX_MISMATCH', `${n} images but ${labels.dims[0]} labels`);
  }
  const m = Math.min(n, opts.limit ?? n);
  const f = rows * cols;
  const x = new Float32Array(m * f);
  for (let i = 0; i < m * f; i++) x[i] = images.data[i]! / 255;
  const y = Int32Array.from(labels.data.subarray(0, m));
  let k = opts.numClasses ?? 0;
  if (!opts.numClasses) for (const l of y) k = Math.max(k, l + 1);
  return makeDataset(x, y, [rows, cols, 1], Math.max(k, 1));
}

export async function loadIdx(
  imagesPath: string,
  labelsPath: string,
  opts: IdxLoadOptions = {},
): Promise<Dataset> {
  const [img, lab] = await Promise.all([readFile(imagesPath), readFile(labelsPath)]);
  return idxToDataset(parseIdx(img, imagesPath), parseIdx(lab, labelsPath), opts);
}

/** Encodes unsigned bytes as an IDX file (used to write test fixtures and exports). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
