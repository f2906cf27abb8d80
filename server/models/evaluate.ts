/**
 * Validation-set utility of a weight vector: top-1 accuracy of the bounty's tfjs model on the
 * sponsor's validation set. Used for the group utilities U(S) that Shapley scoring needs.
 * `@tensorflow/tfjs` on the WebAssembly backend (SIMD; ~40x the pure-JS cpu backend on a dense
 * layer), falling back to cpu when wasm cannot start. 2^G coalitions are evaluated per round.
 */
import * as tf from '@tensorflow/tfjs';
import type { ValidationSet } from './validation.js';

let ready: Promise<void> | undefined;
function backend(): Promise<void> {
  ready ??= (async () => {
    if (tf.getBackend() === 'wasm' || tf.getBackend() === 'tensorflow') return;
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      if (await tf.setBackend('wasm')) return await tf.ready();
    } catch {
      // no wasm: the cpu backend below
    }
    await tf.setBackend('cpu');
    await tf.ready();
  })();
  return ready;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

export interface Evaluator {
  accuracy(weights: Float32Array): Promise<number>;
  dispose(): void;
}

export async function makeEvaluator(
  modelJsonBytes: Uint8Array,
  v: ValidationSet,
): Promise<Evaluator> {
  await backend();
  const art = JSON.parse(Buffer.from(modelJsonBytes).toString('utf8')) as {
    modelTopology: tf.io.ModelArtifacts['modelTopology'];
    weightsManifest: { weights: WeightSpec[] }[];
  };
  const specs = art.weightsManifest.flatMap((g) => g.weights);
  const sizes = specs.map((s) => s.shape.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: art.modelTopology,
      weightSpecs: specs as tf.io.WeightsManifestEntry[],
      weightData: new ArrayBuffer(total * 4),
    }),
  );
  const n = v.y.length;
  const x = tf.tensor(v.x, [n, ...v.shape]);
  return {
    async accuracy(weights: Float32Array): Promise<number> {
      if (weights.length !== total)
        throw new Error(`weights of ${weights.length}, model has ${total}`);
      const tensors: tf.Tensor[] = [];
      let off = 0;
      specs.forEach((s, i) => {
        tensors.push(tf.tensor(weights.subarray(off, off + sizes[i]!), s.shape));
        off += sizes[i]!;
      });
      model.setWeights(tensors);
      tensors.forEach((t) => t.dispose());
      const pred = tf.tidy(() => (model.predict(x, { batchSize: 1024 }) as tf.Tensor).argMax(-1));
      const labels = (await pred.data()) as Int32Array;
      pred.dispose();
      let correct = 0;
      for (let i = 0; i < n; i++) if (labels[i] === v.y[i]) correct++;
      return correct / n;
    },
    dispose() {
      x.dispose();
      model.dispose();
    },
  };
}
