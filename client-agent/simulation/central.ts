/**
 * The centralized baseline: the same model, optimizer and hyperparameters trained on the union
 * of all clients' data, for as many epochs as the federation's rounds x local epochs.
 */
import type { Dataset } from '../data/dataset.js';
import type { HyperParams } from '../training/model-spec.js';
import type { Architecture } from '../training/model.js';
import { Trainer, type Evaluation } from '../training/trainer.js';

export interface CentralOptions {
  train: Dataset;
  test: Dataset;
  architecture: Architecture;
  initialWeights: Float32Array;
  hyper: HyperParams;
  epochs: number;
  seed: number;
  evalEvery?: number;
  onEpoch?: (epoch: number, test: Evaluation | null, seconds: number) => void;
  trainer?: Trainer;
}

export async function runCentral(
  opts: CentralOptions,
): Promise<{ weights: Float32Array; final: Evaluation; curve: (number | null)[] }> {
  const trainer = opts.trainer ?? (await Trainer.create(opts.architecture));
  const w = new Float32Array(opts.initialWeights);
  const curve: (number | null)[] = [];
  let last: Evaluation = { accuracy: NaN, loss: NaN };
  try {
    for (let e = 1; e <= opts.epochs; e++) {
      const t0 = performance.now();
      const r = await trainer.train(
        w,
        opts.train,
        { ...opts.hyper, localEpochs: 1, fedProxMu: 0 },
        opts.seed + e,
      );
      for (let i = 0; i < w.length; i++) w[i] = w[i]! + r.delta[i]!;
      const seconds = (performance.now() - t0) / 1000;
      const every = opts.evalEvery ?? 1;
      const test = e % every === 0 || e === opts.epochs ? trainer.evaluate(w, opts.test) : null;
      if (test) last = test;
      curve.push(test ? test.accuracy : null);
      opts.onEpoch?.(e, test, seconds);
    }
  } finally {
    if (!opts.trainer) trainer.dispose();
  }
  return { weights: w, final: last, curve };
}
