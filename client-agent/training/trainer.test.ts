import * as tf from '@tensorflow/tfjs';
import { loadBuiltin } from '../data/builtin.js';
import { slice } from '../data/dataset.js';
import { initBackend } from './backend.js';
import { parseCsv } from '../data/csv.js';
import { buildModel, initialWeights, linearArchitecture, smallCnnArchitecture } from './model.js';
import { ModelSpecSchema } from './model-spec.js';
import { Trainer } from './trainer.js';

const hyper = { localEpochs: 1, batchSize: 32, learningRate: 0.1, fedProxMu: 0 };

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

describe('Trainer (wasm backend)', () => {
  let trainer: Trainer;
  let w0: Float32Array;
  let data: Awaited<ReturnType<typeof loadBuiltin>>;

  beforeAll(async () => {
    await initBackend({ prefer: ['wasm'], log: null });
    const arch = smallCnnArchitecture();
    ModelSpecSchema.parse({ architecture: arch, hyper });
    trainer = await Trainer.create(arch);
    const probe = await buildModel(arch);
    w0 = initialWeights(probe, 7);
    probe.dispose();
    data = await loadBuiltin('mnist');
  });
  afterAll(() => trainer.dispose());

  it('learns, returns a delta and the sample count, and leaks no tensors', async () => {
    const local = slice(data.train, 0, 1200);
    const test = slice(data.test, 0, 500);
    const before = tf.memory().numTensors;
    const r1 = await trainer.train(w0, local, { ...hyper, localEpochs: 2 }, 1);
    expect(tf.memory().numTensors).toBe(before);
    expect(r1.numSamples).toBe(1200);
    expect(r1.delta.length).toBe(trainer.numParams);
    const w1 = w0.map((v, i) => v + r1.delta[i]!);
    const acc0 = trainer.evaluate(w0, test).accuracy;
    const acc1 = trainer.evaluate(w1, test).accuracy;
    expect(tf.memory().numTensors).toBe(before);
    expect(acc1).toBeGreaterThan(0.7);
    expect(acc1).toBeGreaterThan(acc0 + 0.3);
  });

  it('is deterministic for a seed, and FedProx keeps the update closer to the global model', async () => {
    const local = slice(data.train, 0, 256);
    const before = tf.memory().numTensors;
    const a = await trainer.train(w0, local, hyper, 3);
    const b = await trainer.train(w0, local, hyper, 3);
    expect(Buffer.from(a.delta.buffer).equals(Buffer.from(b.delta.buffer))).toBe(true);
    const prox = await trainer.train(w0, local, { ...hyper, localEpochs: 2, fedProxMu: 1 }, 3);
    const plain = await trainer.train(w0, local, { ...hyper, localEpochs: 2 }, 3);
    expect(norm(prox.delta)).toBeLessThan(norm(plain.delta));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('trains a linear model on a CSV data set', async () => {
    const rows = ['x1,x2,label'];
    for (let i = 0; i < 200; i++) {
      const a = ((i * 37) % 100) / 50 - 1;
      const b = ((i * 61) % 100) / 50 - 1;
      rows.push(`${a},${b},${a + b > 0 ? 1 : 0}`);
    }
    const ds = parseCsv(rows.join('\n'), { label: 'label' });
    const arch = linearArchitecture(2, 2);
    const t = await Trainer.create(arch);
    const before = tf.memory().numTensors;
    const zero = new Float32Array(t.numParams);
    const r = await t.train(zero, ds, { ...hyper, localEpochs: 20, learningRate: 0.5 }, 1);
    expect(t.evaluate(r.delta, ds).accuracy).toBeGreaterThan(0.95);
    expect(tf.memory().numTensors).toBe(before);
    t.dispose();
  });

  it('rejects weights of the wrong length', async () => {
    await expect(
      trainer.train(new Float32Array(3), slice(data.train, 0, 10), hyper, 1),
    ).rejects.toThrow(/weight vector/);
  });
});
