/**
 * The strategy a bounty's spec names, built in one place: the aggregator steps the model with it
 * and an auditor replaying model versions from group aggregates must build the same one.
 */
import { DEFAULT_ROBUST_MIN_GROUPS } from '../defaults.js';
import type { BountySpec } from '../spec.js';
import { FedAvg } from './fedavg.js';
import { FedAdam, FedYogi } from './fedopt.js';
import { RobustAggregation } from './robust.js';
import type { Strategy } from './strategy.js';

export function strategyFromSpec(spec: Pick<BountySpec, 'strategy' | 'robust'>): Strategy {
  const p = spec.strategy.params ?? {};
  let inner: Strategy;
  switch (spec.strategy.name) {
    case 'fedavg':
      inner = new FedAvg({ serverLearningRate: p.serverLearningRate ?? 1 });
      break;
    case 'fedadam':
      inner = new FedAdam(p);
      break;
    case 'fedyogi':
      inner = new FedYogi(p);
      break;
  }
  const r = spec.robust ?? { rule: 'trimmed', trim: 1, minGroups: DEFAULT_ROBUST_MIN_GROUPS };
  if (r.rule === 'none') return inner;
  return new RobustAggregation(inner, r as { rule: 'median' | 'trimmed' });
}
