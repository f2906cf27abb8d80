/**
 * What a bounty says about the model: a tfjs Layers architecture (the JSON `model.toJSON()`
 * gives), the initial flat weights, and the local training hyperparameters.
 */
import { z } from 'zod';

export const HyperParamsSchema = z.object({
  /** Passes over the local data per round. */
  localEpochs: z.number().int().min(1).max(100),
  batchSize: z.number().int().min(1).max(4096),
  learningRate: z.number().positive().max(10),
  /** FedProx proximal weight (Li et al. 2020): 0 is plain FedAvg local SGD. */
  fedProxMu: z.number().min(0).max(100).default(0),
});
export type HyperParams = z.infer<typeof HyperParamsSchema>;

export const ModelSpecSchema = z.object({
  /** tfjs Layers model topology, as produced by `model.toJSON(null, false)`. */
  architecture: z.record(z.string(), z.unknown()),
  hyper: HyperParamsSchema,
});
export type ModelSpec = z.infer<typeof ModelSpecSchema>;

export const DEFAULT_HYPER: HyperParams = {
  localEpochs: 1,
  batchSize: 32,
  learningRate: 0.05,
  fedProxMu: 0,
};
