import * as tf from '@tensorflow/tfjs';
import { ensureRegistered } from './backend.js';

type Pad = 'same' | 'valid' | number;
interface Case {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

const cases: Case[] = [
  { x: [2, 7, 7, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [2, 7, 7, 3], f: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { x: [3, 9, 8, 2], f: [3, 2, 2, 5], strides: 2, pad: 'same' },
  { x: [3, 9, 8, 2], f: [3, 3, 2, 5], strides: 2, pad: 'valid' },
  { x: [1, 10, 11, 4], f: [5, 5, 4, 3], strides: [2, 3], pad: 'same' },
  { x: [2, 8, 8, 1], f: [4, 4, 1, 6], strides: 3, pad: 1 },
  { x: [2, 9, 9, 3], f: [4, 2, 3, 2], strides: 1, pad: 'same' },
  { x: [2, 9, 7, 3], f: [2, 3, 3, 4], strides: 1, pad: 2 },
  { x: [4, 28, 28, 1], f: [5, 5, 1, 8], strides: 1, pad: 'same' },
];

function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Filter gradient of sum(conv2d(x, f) * w), w fixed random so dy is not all ones. */
function filterGrad(c: Case, seed: number): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(
      seeded(
        c.x.reduce((a, b) => a * b),
        seed,
      ),
      c.x,
    );
    const f = tf.tensor4d(
      seeded(
        c.f.reduce((a, b) => a * b),
        seed + 1,
      ),
      c.f,
    );
    const y = tf.conv2d(x, f, c.strides, c.pad);
    const w = tf.tensor(seeded(y.size, seed + 2), y.shape);
    const g = tf.grad((ff) =>
      tf
        .conv2d(x, ff as tf.Tensor4D, c.strides, c.pad)
        .mul(w)
        .sum(),
    )(f);
    return g.dataSync() as Float32Array;
  });
}

describe('wasm Conv2DBackpropFilter and stride-1 Conv2DBackpropInput', () => {
  const prev = tf.getBackend();
  afterAll(async () => {
    if (prev) await tf.setBackend(prev);
  });

  it('matches the cpu backend on several paddings and strides', async () => {
    expect(await ensureRegistered('wasm')).toBe(true);
    await tf.setBackend('cpu');
    const want = cases.map((c, i) => filterGrad(c, 11 * i + 1));
    await tf.setBackend('wasm');
    cases.forEach((c, i) => {
      const got = filterGrad(c, 11 * i + 1);
      expect(got.length).toBe(want[i]!.length);
      let maxErr = 0;
      let maxAbs = 0;
      for (let j = 0; j < got.length; j++) {
        maxErr = Math.max(maxErr, Math.abs(got[j]! - want[i]![j]!));
        maxAbs = Math.max(maxAbs, Math.abs(want[i]![j]!));
      }
      expect(maxErr).toBeLessThanOrEqual(1e-4 * Math.max(1, maxAbs));
    });
  });

  it('does not leak tensors or wasm buffers', async () => {
    await tf.setBackend('wasm');
    filterGrad(cases[2]!, 5);
    const before = tf.memory();
    for (let i = 0; i < 3; i++) filterGrad(cases[2]!, 5 + i);
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numDataBuffers).toBe(before.numDataBuffers);
  });
});
