/**
 * Building models from a spec and moving their weights in and out as one flat Float32Array
 * (the form updates travel in: clipped, quantized, masked, summed).
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../data/random.js';

export type Architecture = Record<string, unknown>;

/** A small CNN for 28x28x1 images: conv5-8, pool, conv5-16, pool, dense(classes), logits out. */
export function smallCnnArchitecture(
  inputShape: number[] = [28, 28, 1],
  numClasses = 10,
): Architecture {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape,
        filters: 8,
        kernelSize: 5,
        padding: 'same',
        activation: 'relu',
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 5, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: numClasses }),
    ],
  });
  const json = m.toJSON(null, false) as Architecture;
  m.dispose();
  return json;
}

/** Multinomial logistic regression over flat features (for CSV data sets). */
export function linearArchitecture(features: number, numClasses: number): Architecture {
  const m = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [features], units: numClasses })],
  });
  const json = m.toJSON(null, false) as Architecture;
  m.dispose();
  return json;
}

export async function buildModel(architecture: Architecture): Promise<tf.LayersModel> {
  return tf.models.modelFromJSON({
    modelTopology: architecture as tf.io.ModelJSON['modelTopology'],
  });
}

export function paramCount(model: tf.LayersModel): number {
  return model.getWeights().reduce((a, w) => a + w.size, 0);
}

export function getFlatWeights(model: tf.LayersModel): Float32Array {
  const ws = model.getWeights();
  const out = new Float32Array(ws.reduce((a, w) => a + w.size, 0));
  let o = 0;
  for (const w of ws) {
    out.set(w.dataSync() as Float32Array, o);
    o += w.size;
  }
  return out;
}

export function setFlatWeights(model: tf.LayersModel, flat: Float32Array): void {
  const shapes = model.getWeights().map((w) => w.shape);
  const total = shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  if (flat.length !== total) {
    throw new Error(`weight vector has ${flat.length} values, the model has ${total}`);
  }
  let o = 0;
  const tensors = shapes.map((s) => {
    const n = s.reduce((x, y) => x * y, 1);
    const t = tf.tensor(flat.subarray(o, o + n), s);
    o += n;
    return t;
  });
  model.setWeights(tensors);
  tf.dispose(tensors);
}

/**
 * Seeded initial weights, independent of tfjs's own random state: Glorot-uniform for kernels
 * (fan-in/out from the shape), zeros for biases. Two runs with one seed start identically.
 */
export function initialWeights(model: tf.LayersModel, seed: number): Float32Array {
  const rng = mulberry32(seed);
  const out = new Float32Array(paramCount(model));
  let o = 0;
  for (const w of model.weights) {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    if (shape.length >= 2) {
      const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
      const fanIn = shape[shape.length - 2]! * receptive;
      const fanOut = shape[shape.length - 1]! * receptive;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) out[o + i] = (2 * rng() - 1) * limit;
    }
    o += n;
  }
  return out;
}
