/**
 * A small strategy interface in the manner of Flower's `Strategy`: the server asks it how
 * clients should train in a round, and how to turn the round's aggregated results into the
 * next global model. Server state (optimizer moments) is passed in and returned, never hidden.
 */
import type { Weights } from '../types.js';
import type { UpdateResult } from './aggregate.js';

/** What a client is told to do locally in a round. */
export interface TrainConfig {
  readonly round: number;
  readonly localEpochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** FedProx proximal term mu (Li et al. 2020); 0 is plain local SGD as in FedAvg. */
  readonly proxMu: number;
}

export interface ServerState {
  readonly round: number;
  readonly m?: Float32Array;
  readonly v?: Float32Array;
}

export interface Strategy {
  readonly name: string;
  configureTrain(round: number): TrainConfig;
  aggregateTrain(
    global: Weights,
    results: readonly UpdateResult[],
    state: ServerState,
  ): { weights: Weights; state: ServerState };
}

export const initialServerState: ServerState = Object.freeze({ round: 0 });

export const defaultTrainConfig: Omit<TrainConfig, 'round'> = Object.freeze({
  localEpochs: 1,
  batchSize: 32,
  learningRate: 0.05,
  proxMu: 0,
});
