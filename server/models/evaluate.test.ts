/**
 * The aggregator's validation evaluator (the utilities every reward is paid by) against a
 * hand computation on a dense softmax model, and its one-pass `metrics` against the two
 * single-metric calls.
 */
import * as tf from '@tensorflow/tfjs';
import { makeEvaluator } from './evaluate.js';

const topology = {
  class_name: 'Sequential',
  config: {
    name: 'seq',
    layers: [
      {
        class_name: 'Dense',
        config: {
          name: 'dense',
          units: 2,
          activation: 'softmax',
          use_bias: true,
          batch_input_shape: [null, 2],
          dtype: 'float32',
          kernel_initializer: { class_name: 'Zeros', config: {} },
          bias_initializer: { class_name: 'Zeros', config: {} },
        },
      },
    ],
  },
};
const modelJson = Buffer.from(
  JSON.stringify({
    format: 'layers-model',
    modelTopology: topology,
    weightsManifest: [
      {
        paths: ['weights.bin'],
        weights: [
          { name: 'dense/kernel', shape: [2, 2], dtype: 'float32' },
          { name: 'dense/bias', shape: [2], dtype: 'float32' },
        ],
      },
    ],
  }),
);
const x = [
  [1, 0],
  [0, 1],
  [1, 1],
  [-1, 2],
];
const y = [0, 1, 1, 0];

/** Softmax cross-entropy and accuracy of kernel (row-major [in][out]) + bias, by hand. */
function byHand(w: number[]): { loss: number; accuracy: number } {
  let loss = 0;
  let correct = 0;
  x.forEach((xi, i) => {
    const z = [0, 1].map((o) => xi[0]! * w[o]! + xi[1]! * w[2 + o]! + w[4 + o]!);
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const p = e.map((v) => v / (e[0]! + e[1]!));
    loss -= Math.log(Math.max(p[y[i]!]!, 1e-7));
    if ((p[1]! > p[0]! ? 1 : 0) === y[i]) correct++;
  });
  return { loss: loss / x.length, accuracy: correct / x.length };
}

describe('validation evaluator', () => {
  it('loss and accuracy match a hand computation; metrics gives both in one pass; no leak', async () => {
    const ev = await makeEvaluator(modelJson, {
      shape: [2],
      classes: 2,
      x: Float32Array.from(x.flat()),
      y: Int32Array.from(y),
    });
    const before = tf.memory().numTensors;
    for (const w of [
      [0.5, -0.5, -0.25, 1, 0.1, -0.1],
      [-2, 2, 1, -1, 0, 0.3],
    ]) {
      const weights = Float32Array.from(w);
      const want = byHand(w);
      expect(await ev.loss(weights)).toBeCloseTo(want.loss, 5);
      expect(await ev.accuracy(weights)).toBe(want.accuracy);
      const both = await ev.metrics(weights);
      expect(both.loss).toBeCloseTo(want.loss, 5);
      expect(both.accuracy).toBe(want.accuracy);
    }
    expect(tf.memory().numTensors).toBe(before);
    ev.dispose();
  });
});
