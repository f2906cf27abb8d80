import { DataError } from './errors.js';

/**
 * A labelled data set held in flat typed arrays: sample i's features are
 * x[i*featureSize .. (i+1)*featureSize), in `sampleShape` order (images are HWC).
 */
export interface Dataset {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
}

export function size(ds: Dataset): number {
  return ds.y.length;
}

export function featureSize(ds: Dataset): number {
  return ds.sampleShape.reduce((a, b) => a * b, 1);
}

export function makeDataset(
  x: Float32Array,
  y: Int32Array,
  sampleShape: readonly number[],
  numClasses: number,
): Dataset {
  const f = sampleShape.reduce((a, b) => a * b, 1);
  if (x.length !== y.length * f) {
    throw new DataError(
      'IDX_MISMATCH',
      `features hold ${x.length} values, expected ${y.length} samples x ${f}`,
    );
  }
  for (let i = 0; i < y.length; i++) {
    if (y[i]! < 0 || y[i]! >= numClasses) {
      throw new DataError(
        'IDX_MISMATCH',
        `label ${y[i]} of sample ${i} is outside 0..${numClasses - 1}`,
      );
    }
  }
  return { x, y, sampleShape: [...sampleShape], numClasses };
}

/** The samples at `indices`, copied, in that order. */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const f = featureSize(ds);
  const x = new Float32Array(indices.length * f);
  const y = new Int32Array(indices.length);
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    x.set(ds.x.subarray(i * f, (i + 1) * f), j * f);
    y[j] = ds.y[i]!;
  }
  return { x, y, sampleShape: ds.sampleShape, numClasses: ds.numClasses };
}

/** Samples [start, end). */
export function slice(ds: Dataset, start: number, end: number): Dataset {
  const f = featureSize(ds);
  const e = Math.min(end, size(ds));
  return {
    x: ds.x.slice(start * f, e * f),
    y: ds.y.slice(start, e),
    sampleShape: ds.sampleShape,
    numClasses: ds.numClasses,
  };
}

/** Samples per class. */
export function classCounts(ds: Dataset): number[] {
  const c = new Array<number>(ds.numClasses).fill(0);
  for (const l of ds.y) c[l]!++;
  return c;
}
