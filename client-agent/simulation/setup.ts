/** Shared set-up for simulations and benchmarks: data pools, client splits, the model. */
import { loadBuiltin, fashionMnistAvailable, type BuiltinName } from '../data/builtin.js';
import { size, slice, subset, type Dataset } from '../data/dataset.js';
import { partition, type PartitionKind } from '../data/partition.js';
import { mulberry32, permutation } from '../data/random.js';
import {
  buildModel,
  initialWeights,
  smallCnnArchitecture,
  type Architecture,
} from '../training/model.js';
import { makeEvaluator, type Evaluator } from '../../server/models/evaluate.js';
import { corrupt, type Corruption } from './corrupt.js';
import type { SimClient } from './federated.js';

export interface DataSetup {
  dataset?: BuiltinName;
  clients: number;
  samplesPerClient: number;
  partition: PartitionKind;
  alpha?: number;
  testSamples: number;
  validationSamples?: number;
  seed: number;
  /** Per-client corruption, by client index. */
  corruptions?: readonly Corruption[];
}

export interface PreparedData {
  dataset: BuiltinName;
  clients: SimClient[];
  /** Union of all clients' (possibly corrupted) data, for the centralized baseline. */
  pooled: Dataset;
  test: Dataset;
  validation: Dataset;
}

export function defaultDataset(): BuiltinName {
  return fashionMnistAvailable() ? 'fashion-mnist' : 'mnist';
}

export function clientId(i: number): string {
  return `client-${String(i).padStart(2, '0')}`;
}

export async function prepareData(s: DataSetup): Promise<PreparedData> {
  const dataset = s.dataset ?? defaultDataset();
  const needTrain = s.clients * s.samplesPerClient + (s.validationSamples ?? 0);
  const { train, test } = await loadBuiltin(dataset, { testLimit: s.testSamples });
  if (size(train) < needTrain) {
    throw new Error(
      `${dataset} has ${size(train)} training samples; the set-up needs ${needTrain}`,
    );
  }
  const rng = mulberry32(s.seed);
  const order = permutation(size(train), rng);
  const pool = subset(train, order.slice(0, s.clients * s.samplesPerClient));
  const validation = subset(train, order.slice(s.clients * s.samplesPerClient, needTrain));
  const parts = partition(s.partition, pool.y, s.clients, rng, { alpha: s.alpha });
  const clients = parts.map((idx, i) => ({
    id: clientId(i),
    data: corrupt(subset(pool, idx), s.corruptions?.[i] ?? { kind: 'none' }, rng),
  }));
  const pooled = concat(clients.map((c) => c.data));
  return { dataset, clients, pooled, test: slice(test, 0, s.testSamples), validation };
}

export function concat(parts: readonly Dataset[]): Dataset {
  const first = parts[0]!;
  const n = parts.reduce((a, p) => a + size(p), 0);
  const f = first.x.length / Math.max(1, size(first));
  const x = new Float32Array(n * f);
  const y = new Int32Array(n);
  let o = 0;
  for (const p of parts) {
    x.set(p.x, o * f);
    y.set(p.y, o);
    o += size(p);
  }
  return { x, y, sampleShape: first.sampleShape, numClasses: first.numClasses };
}

/** The small CNN and seeded initial weights for 28x28 images. */
export async function cnnModel(
  seed: number,
): Promise<{ architecture: Architecture; initial: Float32Array }> {
  const architecture = smallCnnArchitecture();
  const m = await buildModel(architecture);
  const initial = initialWeights(m, seed);
  m.dispose();
  return { architecture, initial };
}

/**
 * The aggregator's evaluator (server/models/evaluate.ts) of `architecture` on `validation`, fed
 * the same tfjs Layers `model.json` a bounty publishes, so a simulation scores coalitions with
 * the code that scores them in production.
 */
export async function scoringEvaluator(
  architecture: Architecture,
  validation: Dataset,
): Promise<Evaluator> {
  const model = await buildModel(architecture);
  const weights = model.weights.map((w) => ({
    name: w.originalName,
    shape: [...w.shape] as number[],
    dtype: 'float32',
  }));
  model.dispose();
  const modelJson = Buffer.from(
    JSON.stringify({
      format: 'layers-model',
      modelTopology: architecture,
      weightsManifest: [{ paths: ['weights.bin'], weights }],
    }),
  );
  const n = size(validation);
  return makeEvaluator(modelJson, {
    shape: [...validation.sampleShape],
    classes: validation.numClasses,
    x: validation.x.subarray(0, n * validation.sampleShape.reduce((a, b) => a * b, 1)),
    y: validation.y.subarray(0, n),
  });
}
