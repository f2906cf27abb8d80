/**
 * Local training on private data: start from the global weights, run local SGD epochs
 * (optionally with the FedProx proximal term, Li et al. 2020, eq. 2), return the weight delta
 * and the sample count. Only these leave the trainer; the data set never does.
 *
 * Memory: every step runs in tf.tidy; the few tensors that outlive a step (the anchor for
 * FedProx) are disposed at the end of the round, so tf.memory().numTensors is back to its
 * baseline after each call (tested).
 */
import * as tf from '@tensorflow/tfjs';
import { featureSize, size, type Dataset } from '../data/dataset.js';
import { mulberry32, shuffleInPlace } from '../data/random.js';
import { buildModel, getFlatWeights, setFlatWeights, type Architecture } from './model.js';
import type { HyperParams } from './model-spec.js';

export interface LocalResult {
  /** Trained weights minus the global weights. */
  delta: Float32Array;
  numSamples: number;
  /** Mean training loss over the last local epoch. */
  loss: number;
}

export interface Evaluation {
  accuracy: number;
  loss: number;
}

export class Trainer {
  private constructor(
    private readonly model: tf.LayersModel,
    private readonly logitsOut: boolean,
  ) {}

  static async create(architecture: Architecture): Promise<Trainer> {
    const model = await buildModel(architecture);
    const last = model.layers[model.layers.length - 1]!.getConfig() as { activation?: string };
    const act = last.activation ?? 'linear';
    if (act !== 'linear' && act !== 'softmax') {
      throw new Error(`the last layer must output logits (linear) or softmax, got ${act}`);
    }
    return new Trainer(model, act === 'linear');
  }

  get numParams(): number {
    return this.model.getWeights().reduce((a, w) => a + w.size, 0);
  }

  weights(): Float32Array {
    return getFlatWeights(this.model);
  }

  private lossOf(labels: tf.Tensor, out: tf.Tensor): tf.Scalar {
    return this.logitsOut
      ? tf.losses.softmaxCrossEntropy(labels, out)
      : tf.metrics.categoricalCrossentropy(labels, out).mean().asScalar();
  }

  private batch(
    ds: Dataset,
    idx: ArrayLike<number>,
    from: number,
    to: number,
  ): [tf.Tensor, tf.Tensor] {
    const f = featureSize(ds);
    const n = to - from;
    const xb = new Float32Array(n * f);
    const yb = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      const i = idx[from + j]!;
      xb.set(ds.x.subarray(i * f, (i + 1) * f), j * f);
      yb[j] = ds.y[i]!;
    }
    return [
      tf.tensor(xb, [n, ...ds.sampleShape]),
      tf.oneHot(tf.tensor1d(yb, 'int32'), ds.numClasses),
    ];
  }

  /** One local round from `global`; `seed` fixes the batch order. */
  async train(
    global: Float32Array,
    data: Dataset,
    hyper: HyperParams,
    seed: number,
  ): Promise<LocalResult> {
    const n = size(data);
    if (n === 0) throw new Error('cannot train on an empty data set');
    setFlatWeights(this.model, global);
    const vars = this.model.trainableWeights.map((w) => w.read());
    const anchors = hyper.fedProxMu > 0 ? vars.map((v) => v.clone()) : [];
    const optimizer = tf.train.sgd(hyper.learningRate);
    const rng = mulberry32(seed);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    let lastLoss = 0;
    try {
      for (let e = 0; e < hyper.localEpochs; e++) {
        shuffleInPlace(order, rng);
        let sum = 0;
        let batches = 0;
        for (let from = 0; from < n; from += hyper.batchSize) {
          const to = Math.min(n, from + hyper.batchSize);
          const cost = tf.tidy((): tf.Scalar => {
            const [xb, yb] = this.batch(data, order, from, to);
            return optimizer.minimize(() => {
              const out = this.model.apply(xb, { training: true }) as tf.Tensor;
              let loss = this.lossOf(yb, out);
              if (anchors.length > 0) {
                const prox = tf.addN(
                  vars.map((v, i) => tf.sum(tf.squaredDifference(v, anchors[i]!))),
                );
                loss = loss.add(prox.mul(hyper.fedProxMu / 2));
              }
              return loss;
            }, true)!;
          });
          sum += (await cost.data())[0]!;
          cost.dispose();
          batches++;
        }
        lastLoss = sum / batches;
      }
    } finally {
      optimizer.dispose();
      tf.dispose(anchors);
    }
    const trained = getFlatWeights(this.model);
    const delta = new Float32Array(trained.length);
    for (let i = 0; i < delta.length; i++) delta[i] = trained[i]! - global[i]!;
    return { delta, numSamples: n, loss: lastLoss };
  }

  /** Accuracy and mean cross-entropy of `weights` on `data`. */
  evaluate(weights: Float32Array, data: Dataset, batchSize = 1000): Evaluation {
    setFlatWeights(this.model, weights);
    const n = size(data);
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    let correct = 0;
    let lossSum = 0;
    for (let from = 0; from < n; from += batchSize) {
      const to = Math.min(n, from + batchSize);
      const [c, l] = tf.tidy(() => {
        const [xb, yb] = this.batch(data, idx, from, to);
        const out = this.model.predict(xb) as tf.Tensor;
        const hits = tf.equal(tf.argMax(out, 1), tf.argMax(yb, 1)).sum();
        const loss = this.lossOf(yb, out).mul(to - from);
        return [hits.dataSync()[0]!, loss.dataSync()[0]!];
      });
      correct += c;
      lossSum += l;
    }
    return { accuracy: correct / n, loss: lossSum / n };
  }

  dispose(): void {
    this.model.dispose();
  }
}
