/**
 * The bounty spec of a built model: its topology, its weight specs in flat order, the round and
 * training parameters, and seeded initial weights (model version 0). Browser-safe (tfjs only, no
 * Node built-ins), so that `tributary bounty create` and the web app's Sponsor page build the same
 * spec from the same architecture; the caller checks the options and builds the model.
 */
import type * as tf from '@tensorflow/tfjs';
import { DEFAULT_PRG, type PrgName } from '../../aggregation/defaults.js';
import type { BountySpec } from '../../aggregation/spec.js';
import { initialWeights, type Architecture } from './model.js';

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
  weightCap?: number;
  /** 'default' leaves the rule to the spec's default (aggregation/spec.ts). */
  robust?: string;
  /** Slash, at the last round, contributions scored below this (negative) number. */
  slashBelow?: number;
  /** The mask PRG (default: DEFAULT_PRG, the measured faster one). */
  prg?: PrgName;
}

export interface BuiltSpec {
  spec: BountySpec;
  initial: Float32Array;
  /** Shape of one input example, without the batch axis. */
  inputShape: number[];
}

/** The spec of `model` (built from `architecture`); does not dispose the model. */
export function specFromModel(
  architecture: Architecture,
  model: tf.LayersModel,
  o: SpecOptions,
): BuiltSpec {
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
    ...(o.weightCap !== undefined ? { weightCap: o.weightCap } : {}),
    ...(o.robust && o.robust !== 'default'
      ? { robust: { rule: o.robust as 'median' | 'trimmed' | 'none' } }
      : {}),
    ...(o.slashBelow !== undefined ? { slashBelow: o.slashBelow } : {}),
    prg: o.prg ?? DEFAULT_PRG,
  };
  return { spec, initial: initialWeights(model, o.seed), inputShape };
}
