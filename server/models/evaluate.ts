/**
 * Validation-set utility of a weight vector on the sponsor's validation set: the mean
 * cross-entropy loss of the bounty's tfjs model (scoring uses its negative), and top-1 accuracy
 * (reported). Loss is the utility because it ranks data quality far better than accuracy: on
 * graded label noise, exact per-person Shapley values of accuracy rank clients at Spearman ~0.6,
 * of loss at ~1.0 (test/bench/accuracy.ts). Used for the group utilities U(S) of Shapley scoring.
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
  /** Mean cross-entropy of the true labels (softmax applied when the model outputs logits). */
  loss(weights: Float32Array): Promise<number>;
  /** Both, from one forward pass. */
  metrics(weights: Float32Array): Promise<{ loss: number; accuracy: number }>;
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
  const y = tf.tensor1d(v.y, 'int32');
  const layers = (
    art.modelTopology as { config?: { layers?: { config?: { activation?: string } }[] } }
  )?.config?.layers;
  const softmaxOut = layers?.at(-1)?.config?.activation === 'softmax';
  const setWeights = (weights: Float32Array) => {
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
  };
  const lossOf = (out: tf.Tensor2D) => {
    const probs = softmaxOut ? out : tf.softmax(out);
    const logp = tf.log(tf.clipByValue(probs, 1e-7, 1));
    const picked = tf.sum(tf.mul(logp, tf.oneHot(y, out.shape[1])), -1);
    return tf.neg(tf.mean(picked));
  };
  const accuracyOf = (labels: Int32Array) => {
    let correct = 0;
    for (let i = 0; i < n; i++) if (labels[i] === v.y[i]) correct++;
    return correct / n;
  };
  const predict = () => model.predict(x, { batchSize: 1024 }) as tf.Tensor2D;
  return {
    async loss(weights: Float32Array): Promise<number> {
      setWeights(weights);
      const l = tf.tidy(() => lossOf(predict()));
      const value = (await l.data())[0]!;
      l.dispose();
      return value;
    },
    async accuracy(weights: Float32Array): Promise<number> {
      setWeights(weights);
      const pred = tf.tidy(() => predict().argMax(-1));
      const labels = (await pred.data()) as Int32Array;
      pred.dispose();
      return accuracyOf(labels);
    },
    async metrics(weights: Float32Array): Promise<{ loss: number; accuracy: number }> {
      setWeights(weights);
      const [l, pred] = tf.tidy(() => {
        const out = predict();
        return [lossOf(out), out.argMax(-1)] as const;
      });
      const loss = (await l.data())[0]!;
      const labels = (await pred.data()) as Int32Array;
      l.dispose();
      pred.dispose();
      return { loss, accuracy: accuracyOf(labels) };
    },
    dispose() {
      x.dispose();
      y.dispose();
      model.dispose();
    },
  };
}
