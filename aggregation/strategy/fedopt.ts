/**
 * Adaptive server optimizers (Reddi et al. 2021, "Adaptive Federated Optimization", Alg. 2):
 * the weighted mean update is a pseudo-gradient Δ; the server keeps moments
 *   m = β1 m + (1 - β1) Δ
 *   v = β2 v + (1 - β2) Δ²                       (FedAdam)
 *   v = v - (1 - β2) Δ² sign(v - Δ²)             (FedYogi)
 * and steps x ← x + η m / (√v + τ). Defaults follow the paper's and Flower's.
 */
import { check } from '../errors.js';
import type { Weights } from '../types.js';
import { weightedMean, type UpdateResult } from './aggregate.js';
import { FedAvg, type FedAvgOptions } from './fedavg.js';
import type { ServerState } from './strategy.js';

export interface FedOptOptions extends Omit<FedAvgOptions, 'serverLearningRate'> {
  eta?: number;
  beta1?: number;
  beta2?: number;
  tau?: number;
}

abstract class FedOpt extends FedAvg {
  protected readonly eta: number;
  protected readonly beta1: number;
  protected readonly beta2: number;
  protected readonly tau: number;

  constructor(opts: FedOptOptions = {}) {
    const { eta = 0.1, beta1 = 0.9, beta2 = 0.99, tau = 1e-3, ...rest } = opts;
    super(rest);
    check(eta > 0 && tau > 0, 'CONFIG', 'eta and tau must be > 0');
    check(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, 'CONFIG', 'betas must be in [0, 1)');
    this.eta = eta;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.tau = tau;
  }

  protected abstract secondMoment(v: number, d2: number): number;

  override aggregateTrain(
    global: Weights,
    results: readonly UpdateResult[],
    state: ServerState,
  ): { weights: Weights; state: ServerState } {
    const delta = weightedMean(results);
    check(delta.length === global.length, 'VECTOR_LENGTH', `${delta.length} != ${global.length}`);
    const n = global.length;
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    const x = new Float32Array(n);
    const m0 = state.m ?? new Float32Array(n);
    const v0 = state.v ?? new Float32Array(n).fill(this.tau * this.tau);
    for (let i = 0; i < n; i++) {
      const d = delta[i]!;
      m[i] = this.beta1 * m0[i]! + (1 - this.beta1) * d;
      v[i] = this.secondMoment(v0[i]!, d * d);
      x[i] = global[i]! + (this.eta * m[i]!) / (Math.sqrt(v[i]!) + this.tau);
    }
    return { weights: x, state: { round: state.round + 1, m, v } };
  }
}

export class FedAdam extends FedOpt {
  override readonly name = 'fedadam';
  protected secondMoment(v: number, d2: number): number {
    return this.beta2 * v + (1 - this.beta2) * d2;
  }
}

export class FedYogi extends FedOpt {
  override readonly name = 'fedyogi';
  protected secondMoment(v: number, d2: number): number {
    return v - (1 - this.beta2) * d2 * Math.sign(v - d2);
  }
}
