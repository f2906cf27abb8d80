/**
 * The replay audit: re-derives training itself from what the aggregator learned, so that a holder
 * of the group aggregates need not trust the model versions or the utilities it was told.
 *
 * For every recorded round, in order, from version 0 (the sponsor's initial weights):
 *   1. each group aggregate (a sample-weighted mean update) must hash to the record's sumHash
 *      (bound on chain by the round's commitment) and carry the record's total member weight;
 *   2. the bounty's strategy (aggregation's `strategyFromSpec`, the one the aggregator steps with)
 *      applied to the previous version and the aggregates gives the next version's weights, whose
 *      artifact hash with the published model.json must equal the hash in the on-chain registry;
 *   3. given the validation set (an evaluator), every coalition utility U(S) = −loss(previous +
 *      weighted mean of the groups in S) must equal the record's, within `tolerance`.
 * Pure and browser-safe: the caller fetches the aggregates, the files and the chain's hashes.
 */
import { coalitionWeights } from '../../aggregation/contribution/coalition.js';
import { aggregateHash } from '../../aggregation/contribution/commitment.js';
import { modelArtifactHash } from '../../aggregation/artifact-hash.js';
import type { BountySpec } from '../../aggregation/spec.js';
import { strategyFromSpec } from '../../aggregation/strategy/from-spec.js';
import { initialServerState, type ServerState } from '../../aggregation/strategy/strategy.js';
import type { RecordRound } from './record.js';

export interface ReplayGroup {
  readonly sumHash: string;
  readonly weight: number;
  readonly mean: Float32Array;
}

export type ReplayFindingKind = 'AGGREGATE_MISMATCH' | 'MODEL_HASH_MISMATCH' | 'UTILITY_MISMATCH';

export interface ReplayFinding {
  kind: ReplayFindingKind;
  round: number;
  group?: number;
  version?: number;
  coalition?: number;
  message: string;
}

export interface ReplayInput {
  spec: Pick<BountySpec, 'strategy' | 'robust'>;
  /** Version 0: the sponsor's initial weights. */
  initialWeights: Float32Array;
  /** model.json as served (the same bytes for every version). */
  modelJson: Uint8Array;
  /** The scored rounds of the record, in any order (replayed by round number). */
  rounds: readonly RecordRound[];
  /** Per on-chain round number, the group aggregates in the record's group order. */
  aggregates: ReadonlyMap<number, readonly ReplayGroup[]>;
  /** The registry's artifact hash of a version (undefined when not published). */
  versionHash: (version: number) => Promise<string | undefined>;
  /** −validation loss of a weight vector; without one, utilities are not re-derived. */
  utility?: (weights: Float32Array) => Promise<number>;
  /** Relative tolerance on utilities (another tfjs backend may round differently); default 1e-5. */
  tolerance?: number;
}

export interface ReplayReport {
  pass: boolean;
  rounds: number;
  versionsChecked: number;
  utilitiesChecked: number;
  findings: ReplayFinding[];
}

const bytesOf = (w: Float32Array) => new Uint8Array(w.buffer, w.byteOffset, w.byteLength);

export async function replayTraining(input: ReplayInput): Promise<ReplayReport> {
  const findings: ReplayFinding[] = [];
  const strategy = strategyFromSpec(input.spec);
  const tol = input.tolerance ?? 1e-5;
  let weights: Float32Array = new Float32Array(input.initialWeights);
  let state: ServerState = initialServerState;
  let versionsChecked = 0;
  let utilitiesChecked = 0;
  const rounds = [...input.rounds].sort((a, b) => a.round - b.round);
  for (const [k, r] of rounds.entries()) {
    const groups = input.aggregates.get(r.round);
    if (!groups || groups.length !== r.groups.length) {
      findings.push({
        kind: 'AGGREGATE_MISMATCH',
        round: r.round,
        message: `round ${r.round}: ${groups?.length ?? 0} aggregates for ${r.groups.length} groups`,
      });
      break; // nothing after this round can be replayed
    }
    let ok = true;
    groups.forEach((g, i) => {
      const want = r.groups[i]!;
      const weight = want.members.reduce((s, m) => s + m.weight, 0);
      if (
        aggregateHash(g.mean).toLowerCase() !== want.sumHash.toLowerCase() ||
        g.weight !== weight
      ) {
        ok = false;
        findings.push({
          kind: 'AGGREGATE_MISMATCH',
          round: r.round,
          group: i,
          message: `round ${r.round}, group ${i}: the aggregate does not hash to the record's sumHash (or weighs ${g.weight}, not ${weight})`,
        });
      }
    });
    if (!ok) break;
    if (input.utility) {
      for (let mask = 0; mask < r.utilities.length; mask++) {
        const u = await input.utility(coalitionWeights(weights, groups, mask));
        utilitiesChecked++;
        const want = r.utilities[mask]!;
        if (Math.abs(u - want) > tol * Math.max(1, Math.abs(want))) {
          findings.push({
            kind: 'UTILITY_MISMATCH',
            round: r.round,
            coalition: mask,
            message: `round ${r.round}, coalition ${mask}: U = ${u} from the validation set, the record says ${want}`,
          });
        }
      }
    }
    const step = strategy.aggregateTrain(
      weights,
      groups.map((g) => ({ delta: g.mean, weight: g.weight })),
      state,
    );
    weights = step.weights;
    state = step.state;
    const version = k + 1;
    const onChain = await input.versionHash(version);
    const derived = modelArtifactHash(input.modelJson, bytesOf(weights));
    versionsChecked++;
    if (!onChain || onChain.toLowerCase() !== derived.toLowerCase()) {
      findings.push({
        kind: 'MODEL_HASH_MISMATCH',
        round: r.round,
        version,
        message: `version ${version}: replaying round ${r.round} gives ${derived}, the registry holds ${onChain ?? 'nothing'}`,
      });
    }
  }
  return {
    pass: findings.length === 0,
    rounds: rounds.length,
    versionsChecked,
    utilitiesChecked,
    findings,
  };
}
