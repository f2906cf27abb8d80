/**
 * FedAvg (McMahan et al. 2017): the next model is the current one plus the sample-weighted
 * mean of the clients' updates (server learning rate 1 by default). With `proxMu` > 0 the
 * clients train FedProx's proximal objective (Li et al. 2020); the server side is the same.
 */
import { check } from '../errors.js';
import type { Weights } from '../types.js';
import { applyUpdate, weightedMean, type UpdateResult } from './aggregate.js';
import {
  defaultTrainConfig,
  type ServerState,
  type Strategy,
  type TrainConfig,
} from './strategy.js';

export interface FedAvgOptions extends Partial<Omit<TrainConfig, 'round'>> {
  serverLearningRate?: number;
}

export class FedAvg implements Strategy {
  readonly name: string = 'fedavg';
  protected readonly train: Omit<TrainConfig, 'round'>;
  protected readonly serverLearningRate: number;

  constructor(opts: FedAvgOptions = {}) {
    const { serverLearningRate = 1, ...train } = opts;
    this.train = { ...defaultTrainConfig, ...train };
    check(serverLearningRate > 0, 'CONFIG', 'serverLearningRate must be > 0');
    check(this.train.proxMu >= 0, 'CONFIG', 'proxMu must be >= 0');
    check(
      this.train.localEpochs >= 1 && this.train.batchSize >= 1,
      'CONFIG',
      'epochs and batch size must be >= 1',
    );
    this.serverLearningRate = serverLearningRate;
  }

  configureTrain(round: number): TrainConfig {
    return { round, ...this.train };
  }

  aggregateTrain(
    global: Weights,
    results: readonly UpdateResult[],
    state: ServerState,
  ): { weights: Weights; state: ServerState } {
    const mean = weightedMean(results);
    return {
      weights: applyUpdate(global, mean, this.serverLearningRate),
      state: { round: state.round + 1 },
    };
  }
}

/** FedProx: FedAvg on the server, with a proximal term mu sent to the clients. */
export class FedProx extends FedAvg {
  override readonly name = 'fedprox';
  constructor(opts: FedAvgOptions & { proxMu: number }) {
    check(opts.proxMu > 0, 'CONFIG', 'FedProx needs proxMu > 0');
    super(opts);
  }
}
