/**
 * Published model artefacts in the tfjs Layers format: `model.json` (topology + weights manifest)
 * and one `weights.bin` (float32, little-endian, in manifest order). The version hash that goes on
 * chain is keccak256(keccak256(model.json) || keccak256(weights.bin)), so anyone holding the two
 * files can check them against the chain.
 */
import { modelArtifactHash, specParamCount, type BountySpec } from '../../aggregation/index.js';

export const WEIGHTS_FILE = 'weights.bin';

export function modelJson(spec: BountySpec, weightsPath = WEIGHTS_FILE): Buffer {
  return Buffer.from(
    JSON.stringify({
      format: 'layers-model',
      generatedBy: 'tributary',
      convertedBy: null,
      modelTopology: spec.modelTopology,
      weightsManifest: [{ paths: [weightsPath], weights: spec.weightSpecs }],
    }),
  );
}

export const artifactHash = modelArtifactHash;

/** Parameters of the spec's model (aggregation's specParamCount, the count agents check). */
export function paramCount(spec: BountySpec): number {
  return specParamCount(spec);
}

export function weightsToBytes(w: Float32Array): Buffer {
  return Buffer.from(w.buffer, w.byteOffset, w.byteLength);
}

export function bytesToWeights(b: Uint8Array): Float32Array {
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer);
}
