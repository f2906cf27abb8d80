/**
 * Data-quality faults for experiments: the simulated counterparts of careless or dishonest
 * data owners. Each returns a new data set; features are never touched, only labels.
 */
import type { Dataset } from '../data/dataset.js';
import type { Rng } from '../data/random.js';

export type Corruption =
  | { kind: 'none' }
  /** Free rider: labels replaced by uniform random classes (the data carries no signal). */
  | { kind: 'random-labels' }
  /** Label flipper: class c becomes numClasses-1-c, a consistent and harmful mapping. */
  | { kind: 'flip-labels' }
  /** Each label, with probability `rate`, replaced by a different class chosen uniformly. */
  | { kind: 'label-noise'; rate: number };

export function corrupt(ds: Dataset, c: Corruption, rng: Rng): Dataset {
  if (c.kind === 'none') return ds;
  const k = ds.numClasses;
  const y = new Int32Array(ds.y.length);
  for (let i = 0; i < y.length; i++) {
    const l = ds.y[i]!;
    switch (c.kind) {
      case 'random-labels':
        y[i] = Math.floor(rng() * k);
        break;
      case 'flip-labels':
        y[i] = k - 1 - l;
        break;
      case 'label-noise':
        y[i] = rng() < c.rate ? (l + 1 + Math.floor(rng() * (k - 1))) % k : l;
        break;
    }
  }
  return { ...ds, y };
}
