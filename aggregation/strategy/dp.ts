/**
 * Central differential privacy as a wrapper around any strategy (as Flower's
 * DifferentialPrivacyServerSideFixedClipping wraps one): clients clip their updates to L2
 * norm C (quantize.ts does, before masking), and the server adds Gaussian noise of standard
 * deviation z * C / n to the mean of n clients' updates before the inner strategy steps.
 * Privacy accounting (ε, δ over rounds) is left to the caller; z is the noise multiplier.
 */
import { check } from '../errors.js';
import { makeRng, type Rng } from '../rng.js';
import type { Weights } from '../types.js';
import { weightedMean, type UpdateResult } from './aggregate.js';
import type { ServerState, Strategy, TrainConfig } from './strategy.js';

export function gaussian(rng: Rng): number {
  // Box-Muller; 1 - u keeps the log away from 0.
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export class CentralDP implements Strategy {
  readonly name: string;
  constructor(
    private readonly inner: Strategy,
    private readonly opts: { noiseMultiplier: number; clip: number; rng?: Rng },
  ) {
    check(
      opts.noiseMultiplier >= 0 && opts.clip > 0,
      'CONFIG',
      'noiseMultiplier >= 0 and clip > 0',
    );
    this.name = `dp(${inner.name})`;
  }

  configureTrain(round: number): TrainConfig {
    return this.inner.configureTrain(round);
  }

  aggregateTrain(
    global: Weights,
    results: readonly UpdateResult[],
    state: ServerState,
  ): { weights: Weights; state: ServerState } {
    const mean = weightedMean(results);
    const clients = results.reduce((s, r) => s + (r.clients ?? 1), 0);
    const sigma = (this.opts.noiseMultiplier * this.opts.clip) / clients;
    const rng = this.opts.rng ?? makeRng();
    for (let i = 0; i < mean.length; i++) mean[i] = mean[i]! + sigma * gaussian(rng);
    const weight = results.reduce((s, r) => s + r.weight, 0);
    return this.inner.aggregateTrain(global, [{ delta: mean, weight, clients }], state);
  }
}
