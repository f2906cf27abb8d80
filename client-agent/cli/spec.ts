/**
 * What a sponsor publishes, and the hashes that go on chain (formats defined once in
 * aggregation/spec.ts, shared with the aggregator):
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
import {
  canonicalJson,
  encodeValidation as encodeValidationSet,
  modelArtifactHash,
  PRG_NAMES,
  specHash,
  validationHash,
  type BountySpec,
} from '../../aggregation/index.js';
import { featureSize, size, type Dataset } from '../data/dataset.js';
import {
  buildModel,
  initBackend,
  linearArchitecture,
  smallCnnArchitecture,
  type Architecture,
} from '../index.js';
import { specFromModel, type SpecOptions } from '../training/bounty-spec.js';
import { fail } from './errors.js';

export { canonicalJson, modelArtifactHash, specHash, validationHash, type BountySpec };

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

export type { SpecOptions };

/** Builds the spec and the seeded initial weights (version 0 of the model). */
export async function buildSpec(
  architecture: Architecture,
  o: SpecOptions,
): Promise<{ spec: BountySpec; initial: Float32Array; inputShape: number[] }> {
  if (!['fedavg', 'fedadam', 'fedyogi'].includes(o.strategy)) {
    fail('BAD_ARGUMENT', `--strategy must be fedavg, fedadam or fedyogi, got ${o.strategy}`);
  }
  if (o.robust !== undefined && !['default', 'median', 'trimmed', 'none'].includes(o.robust)) {
    fail('BAD_ARGUMENT', `--robust must be default, median, trimmed or none, got ${o.robust}`);
  }
  if (o.weightCap !== undefined && (o.weightCap < 1 || o.weightCap > 1 << 20)) {
    fail('BAD_ARGUMENT', `--weight-cap must be in [1, ${1 << 20}], got ${o.weightCap}`);
  }
  if (o.prg !== undefined && !PRG_NAMES.includes(o.prg)) {
    fail('BAD_ARGUMENT', `--prg must be ${PRG_NAMES.join(' or ')}, got ${String(o.prg)}`);
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
    return specFromModel(architecture, model, o);
  } finally {
    model.dispose();
  }
}

/** The canonical validation-set bytes (see aggregation/spec.ts). */
export function encodeValidation(ds: Dataset): Buffer {
  const n = size(ds);
  return encodeValidationSet({
    shape: [...ds.sampleShape],
    classes: ds.numClasses,
    x: ds.x.subarray(0, n * featureSize(ds)),
    y: ds.y.subarray(0, n),
  });
}
