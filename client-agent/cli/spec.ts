/**
 * What a sponsor publishes, and the hashes that go on chain:
 *
 * - the bounty spec (model topology, weight specs, round and training parameters) in the shape
 *   the aggregator stores; `modelSpecHash` = keccak256 of its canonical JSON (keys sorted);
 * - the validation set in the aggregator's canonical encoding ("TVS1", u32 LE header length,
 *   header JSON { n, shape, classes }, x float32 LE, y int32 LE); `validationSetHash` =
 *   keccak256 of those bytes. Only the hash goes on chain; the bytes go to the aggregator;
 * - a model version's artifact hash = keccak256(keccak256(model.json) || keccak256(weights)),
 *   so two files can be checked against the one bytes32 the registry holds.
 */
import { readFile } from 'node:fs/promises';
import { concat, keccak256 } from 'ethers';
import { featureSize, size, type Dataset } from '../data/dataset.js';
import {
  buildModel,
  initBackend,
  initialWeights,
  linearArchitecture,
  smallCnnArchitecture,
  type Architecture,
} from '../index.js';
import { fail } from './errors.js';

export interface BountySpec {
  modelTopology: unknown;
  weightSpecs: { name: string; shape: number[]; dtype: 'float32' }[];
  minGroupSize: number;
  maxGroups: number;
  minParticipants: number;
  clip: number;
  strategy: { name: 'fedavg' | 'fedadam' | 'fedyogi'; params?: Record<string, number> };
  train: { epochs: number; batchSize: number; learningRate: number };
  loss: string;
  licence: { open: boolean; priceWei?: string };
}

/** JSON with object keys sorted at every level: one byte string per value. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, (v as Record<string, unknown>)[k]]),
      );
    }
    return v;
  });
}

export function specHash(spec: BountySpec): string {
  return keccak256(Buffer.from(canonicalJson(spec), 'utf8'));
}

let backendReady: Promise<unknown> | undefined;
/** The fastest tfjs backend available, chosen once per process. */
export function ensureBackend(): Promise<unknown> {
  backendReady ??= initBackend({ log: null });
  return backendReady;
}

/** `cnn`, `linear:<features>x<classes>`, a tfjs model.json, or a JSON file holding a topology. */
export async function loadArchitecture(source: string): Promise<Architecture> {
  await ensureBackend();
  if (source === 'cnn') return smallCnnArchitecture([28, 28, 1], 10);
  const lin = /^linear:(\d+)x(\d+)$/.exec(source);
  if (lin) return linearArchitecture(Number(lin[1]), Number(lin[2]));
  if (source.startsWith('linear'))
    fail('BAD_MODEL_SPEC', `write a linear model as linear:<features>x<classes>, got ${source}`);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(await readFile(source, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT')
      fail('BAD_MODEL_SPEC', `no model file ${source} (or use cnn, linear:<f>x<c>)`);
    return fail('BAD_MODEL_SPEC', `${source} is not JSON`);
  }
  const topo = (doc['modelTopology'] ?? doc['architecture'] ?? doc) as Record<string, unknown>;
  if (typeof topo !== 'object' || typeof topo['class_name'] !== 'string') {
    fail(
      'BAD_MODEL_SPEC',
      `${source} holds no tfjs Layers topology (modelTopology with class_name)`,
    );
  }
  return topo;
}

export interface SpecOptions {
  minParticipants: number;
  minGroupSize: number;
  maxGroups: number;
  clip: number;
  strategy: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  licenceOpen: boolean;
  priceWei?: bigint;
  seed: number;
}

/** Builds the spec and the seeded initial weights (version 0 of the model). */
export async function buildSpec(
  architecture: Architecture,
  o: SpecOptions,
): Promise<{ spec: BountySpec; initial: Float32Array; inputShape: number[] }> {
  if (!['fedavg', 'fedadam', 'fedyogi'].includes(o.strategy)) {
    fail('BAD_ARGUMENT', `--strategy must be fedavg, fedadam or fedyogi, got ${o.strategy}`);
  }
  if (o.minGroupSize < 2)
    fail('BAD_ARGUMENT', '--min-group-size must be at least 2 (a group of one reveals its update)');
  await ensureBackend();
  let model;
  try {
    model = await buildModel(architecture);
  } catch (e) {
    return fail(
      'BAD_MODEL_SPEC',
      `the topology does not build: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  try {
    const weightSpecs = model.weights.map((w) => ({
      name: w.originalName,
      shape: [...w.shape] as number[],
      dtype: 'float32' as const,
    }));
    const inputShape = (model.inputs[0]?.shape ?? []).slice(1) as number[];
    const last = model.layers[model.layers.length - 1]!.getConfig() as { activation?: string };
    const spec: BountySpec = {
      modelTopology: architecture,
      weightSpecs,
      minGroupSize: o.minGroupSize,
      maxGroups: o.maxGroups,
      minParticipants: o.minParticipants,
      clip: o.clip,
      strategy: { name: o.strategy as BountySpec['strategy']['name'] },
      train: { epochs: o.epochs, batchSize: o.batchSize, learningRate: o.learningRate },
      loss: last.activation === 'softmax' ? 'categoricalCrossentropy' : 'softmaxCrossEntropy',
      licence:
        o.priceWei !== undefined
          ? { open: false, priceWei: o.priceWei.toString() }
          : { open: o.licenceOpen },
    };
    return { spec, initial: initialWeights(model, o.seed), inputShape };
  } finally {
    model.dispose();
  }
}

const MAGIC = Buffer.from('TVS1');

/** The canonical validation-set bytes (see the file comment). */
export function encodeValidation(ds: Dataset): Buffer {
  const n = size(ds);
  const header = Buffer.from(
    JSON.stringify({ n, shape: [...ds.sampleShape], classes: ds.numClasses }),
  );
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const x = ds.x.subarray(0, n * featureSize(ds));
  return Buffer.concat([
    MAGIC,
    len,
    header,
    Buffer.from(x.buffer, x.byteOffset, x.byteLength),
    Buffer.from(ds.y.buffer, ds.y.byteOffset, ds.y.byteLength),
  ]);
}

export function validationHash(encoded: Uint8Array): string {
  return keccak256(encoded);
}

/** keccak256(keccak256(model.json) || keccak256(weights)). */
export function modelArtifactHash(modelJson: Uint8Array, weights: Uint8Array): string {
  return keccak256(concat([keccak256(modelJson), keccak256(weights)]));
}
