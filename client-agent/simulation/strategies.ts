import { FedAdam, FedAvg, FedProx, FedYogi, type Strategy } from '../../aggregation/index.js';

export type StrategyName = 'fedavg' | 'fedprox' | 'fedadam' | 'fedyogi';

/** Server strategies by name; FedAdam/FedYogi with eta = 0.01 (Reddi et al. 2021 tune it per task). */
export function makeStrategy(name: string, mu: number): Strategy {
  switch (name) {
    case 'fedavg':
      return new FedAvg();
    case 'fedprox':
      return new FedProx({ proxMu: mu > 0 ? mu : 0.01 });
    case 'fedadam':
      return new FedAdam({ eta: 0.01 });
    case 'fedyogi':
      return new FedYogi({ eta: 0.01 });
    default:
      throw new Error(`unknown strategy ${name}`);
  }
}
