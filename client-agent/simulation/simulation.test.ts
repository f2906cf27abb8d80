import * as tf from '@tensorflow/tfjs';
import { FedAvg } from '../../aggregation/index.js';
import { initBackend } from '../training/backend.js';
import { Trainer } from '../training/trainer.js';
import { runCentral } from './central.js';
import { corrupt } from './corrupt.js';
import { replayEstimates, roundScores } from './estimators.js';
import { runFederated, type RoundRecord } from './federated.js';
import { cnnModel, prepareData, scoringEvaluator } from './setup.js';
import { ranks, spearman } from './stats.js';
import { lineChartSvg } from './svg-chart.js';
import { mulberry32 } from '../data/random.js';

describe('federated simulation (mnist digits, wasm)', () => {
  beforeAll(async () => {
    await initBackend({ prefer: ['wasm'], log: null });
  });

  it('SecAgg+ and plaintext FedAvg agree up to quantization; scoring runs; no tensor leaks', async () => {
    const data = await prepareData({
      dataset: 'mnist',
      clients: 6,
      samplesPerClient: 100,
      partition: 'iid',
      testSamples: 300,
      validationSamples: 100,
      seed: 5,
    });
    const { architecture, initial } = await cnnModel(5);
    const trainer = await Trainer.create(architecture);
    const evaluator = await scoringEvaluator(architecture, data.validation);
    const base = tf.memory().numTensors;
    const common = {
      clients: data.clients,
      test: data.test,
      architecture,
      initialWeights: initial,
      hyper: { localEpochs: 1, batchSize: 20, learningRate: 0.1, fedProxMu: 0 },
      strategy: new FedAvg(),
      rounds: 2,
      clip: 10,
      seed: 5,
      trainer,
    };
    const plain = await runFederated({ ...common, secure: false });
    const secure = await runFederated({
      ...common,
      secure: true,
      scoring: { validation: data.validation, evaluator, exactPersons: true },
    });
    expect(tf.memory().numTensors).toBe(base);
    let maxDiff = 0;
    for (let i = 0; i < plain.weights.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(plain.weights[i]! - secure.weights[i]!));
    }
    expect(maxDiff).toBeLessThan(1e-3);
    expect(Math.abs(plain.final.accuracy - secure.final.accuracy)).toBeLessThan(0.02);
    expect(secure.rounds[0]!.groups.map((g) => g.length)).toEqual([3, 3]);
    expect(secure.rounds[0]!.groupValues!.loss).toHaveLength(2);
    expect(secure.estimates!.loss.size).toBe(6);
    expect(secure.exactPersonShapley!.accuracy.size).toBe(6);
    // Each round is paid as settlement pays it: the whole budget, to the six clients.
    for (const r of secure.rounds) {
      expect([...r.paid!.values()].reduce((a, b) => a + b, 0n)).toBe(1_000_000n);
      expect(r.paid!.size).toBe(6);
    }
    const c = await runCentral({ ...common, train: data.pooled, epochs: 1 });
    expect(c.curve).toHaveLength(1);
    expect(tf.memory().numTensors).toBe(base);
    trainer.dispose();
    evaluator.dispose();
  });
});

describe('estimators', () => {
  const rec = (groups: string[][], values: number[]): RoundRecord => ({
    round: 1,
    test: null,
    groups,
    trainSeconds: 0,
    aggregateSeconds: 0,
    scoreSeconds: 0,
    groupValues: { accuracy: values, loss: values },
  });
  const w = new Map<string, number>();

  it('mean splits a group value by sample weight', () => {
    const s = roundScores(
      rec(
        [
          ['a', 'b'],
          ['c', 'd'],
        ],
        [2, 4],
      ),
      'loss',
      'mean',
      new Map([['a', 3]]),
    );
    expect(s.get('a')).toBeCloseTo(1.5);
    expect(s.get('b')).toBeCloseTo(0.5);
    expect(s.get('c')).toBeCloseTo(2);
  });

  it('debiased keeps the round total with equal groups and recovers additive contributions', () => {
    const s = roundScores(
      rec(
        [
          ['a', 'b', 'c'],
          ['d', 'e', 'f'],
        ],
        [3, -1],
      ),
      'loss',
      'debiased',
      w,
    );
    expect([...s.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(2);
    // Additive world: c_i known, random groups of 3 among 9; the running debiased mean
    // converges to c_i, the plain mean does not (it is pulled towards C / N).
    const ids = Array.from({ length: 9 }, (_, i) => `p${i}`);
    const c = ids.map((_, i) => (i < 6 ? 1 : -1));
    const rng = mulberry32(3);
    const records: RoundRecord[] = [];
    for (let r = 0; r < 3000; r++) {
      const order = ids.map((id) => [rng(), id] as const).sort((x, y) => x[0] - y[0]);
      const groups = [0, 1, 2].map((g) => order.slice(3 * g, 3 * g + 3).map(([, id]) => id));
      const values = groups.map((g) => g.reduce((s, id) => s + c[ids.indexOf(id)]!, 0));
      records.push(rec(groups, values));
    }
    const deb = replayEstimates(records, 'loss', 'debiased', w).at(-1)!;
    const mean = replayEstimates(records, 'loss', 'mean', w).at(-1)!;
    ids.forEach((id, i) => expect(Math.abs(deb.get(id)! - c[i]!)).toBeLessThan(0.15));
    expect(mean.get('p8')!).toBeGreaterThan(-0.5);
    // Least squares recovers additive contributions exactly from a few rounds.
    const lsq = replayEstimates(records.slice(0, 12), 'loss', 'lsq', w).at(-1)!;
    ids.forEach((id, i) => expect(Math.abs(lsq.get(id)! - c[i]!)).toBeLessThan(0.02));
  });
});

describe('helpers', () => {
  it('spearman with ties', () => {
    expect(ranks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1);
  });

  it('corruptions change labels as documented', () => {
    const ds = {
      x: new Float32Array(4),
      y: Int32Array.from([0, 1, 2, 3]),
      sampleShape: [1],
      numClasses: 4,
    };
    expect(Array.from(corrupt(ds, { kind: 'flip-labels' }, mulberry32(1)).y)).toEqual([3, 2, 1, 0]);
    const noisy = corrupt(ds, { kind: 'label-noise', rate: 1 }, mulberry32(1)).y;
    noisy.forEach((l, i) => expect(l).not.toBe(ds.y[i]));
  });

  it('draws an SVG line chart', () => {
    const svg = lineChartSvg(
      [
        {
          name: 'a<b',
          points: [
            [1, 0.5],
            [2, null],
            [3, 0.9],
          ],
          color: '#000',
        },
      ],
      { title: 't', xLabel: 'x', yLabel: 'y', yMin: 0, yMax: 1 },
    );
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('a&lt;b');
    expect(svg.match(/<path /g)).toHaveLength(1);
  });
});
