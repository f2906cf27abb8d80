/**
 * Scoring and rewarding one round, as one pure function that the server runs and any auditor
 * re-runs from the published record (README, "Auditing rewards"):
 *
 *   1. group values: exact Shapley over the groups from the utilities of all 2^G coalitions
 *      (G <= 8 by default), U(S) = validation metric of global + mean update of groups in S;
 *   2. person scores (reported): each member's share of its group's value by sample weight;
 *   3. estimates: least squares over every round so far (leastsquares.ts), v_g = Σ_{i∈g} c_i,
 *      which separates a person from the company they kept; a running mean of group shares
 *      cannot (a free rider in a good group keeps its credit);
 *   4. rewards: the round budget split over this round's participants by max(0, estimate),
 *      in integer token units via fixed-point scores (toFixedScore, 9 decimals); members who
 *      broke the protocol this round (the record's offenders) are paid nothing.
 *
 * Everything is deterministic given the inputs, so the auditor's integers equal the server's.
 */
import { check } from '../errors.js';
import type { ClientId } from '../types.js';
import { personScores } from './estimates.js';
import { DEFAULT_RIDGE, leastSquaresEstimates, type GroupRound } from './leastsquares.js';
import { allocateRewards, toFixedScore } from './rewards.js';
import { exactShapley } from './shapley.js';

export interface PublishedGroup {
  readonly members: readonly { readonly id: ClientId; readonly weight: number }[];
}

export interface RoundRecord {
  /** Tokens (smallest unit) this round pays out. */
  readonly budget: bigint;
  readonly groups: readonly PublishedGroup[];
  /** U(S) for every coalition S of groups, indexed by bit mask (bit g = group g). */
  readonly utilities: readonly number[];
  /**
   * Members who broke the protocol this round (e.g. unmask shares off their polynomial, outvoted):
   * their score is still estimated and reported, but they are paid nothing this round and their
   * share of the budget goes to the others.
   */
  readonly offenders?: readonly ClientId[];
}

/** What scoring carries from round to round: the group values of every earlier round. */
export interface ScoringState {
  readonly rounds: readonly GroupRound[];
}

export const initialScoringState: ScoringState = Object.freeze({ rounds: [] });

export interface RoundScores {
  readonly groupValues: number[];
  /** This round's group values split by sample weight (reported, not paid by). */
  readonly personScores: Map<ClientId, number>;
  /** Least-squares contribution of everyone seen so far, after this round. */
  readonly estimates: Map<ClientId, number>;
  /** Pass to the next round's scoreRound. */
  readonly state: ScoringState;
  /** The fixed-point score each participant is paid by (what goes on chain). */
  readonly fixedScores: Map<ClientId, bigint>;
  readonly rewards: Map<ClientId, bigint>;
}

export function scoreRound(
  record: RoundRecord,
  previous: ScoringState = initialScoringState,
  ridge = DEFAULT_RIDGE,
): RoundScores {
  const g = record.groups.length;
  check(g >= 1 && g <= 16, 'CONFIG', `a round needs 1..16 groups for exact scoring, got ${g}`);
  check(
    record.utilities.length === 1 << g,
    'CONFIG',
    `need ${1 << g} coalition utilities, got ${record.utilities.length}`,
  );
  check(record.utilities.every(Number.isFinite), 'CONFIG', 'utilities must be finite');
  const groupValues = Array.from(exactShapley(Float64Array.from(record.utilities)));
  const scores = personScores(
    record.groups.map((grp, i) => ({ value: groupValues[i]!, members: grp.members })),
  );
  const state: ScoringState = {
    rounds: [
      ...previous.rounds,
      { groups: record.groups.map((g) => g.members.map((m) => m.id)), values: groupValues },
    ],
  };
  const estimates = leastSquaresEstimates(state.rounds, ridge);
  const fixedScores = new Map(
    [...scores.keys()].map((id) => [id, toFixedScore(estimates.get(id)!)]),
  );
  const barred = new Set(record.offenders ?? []);
  const rewards = allocateRewards(
    record.budget,
    [...fixedScores].filter(([id]) => !barred.has(id)),
  );
  for (const id of barred) if (fixedScores.has(id)) rewards.set(id, 0n);
  return { groupValues, personScores: scores, estimates, state, fixedScores, rewards };
}

export interface AuditFinding {
  readonly round: number;
  readonly client: ClientId;
  readonly claimed: bigint;
  readonly derived: bigint;
}

/**
 * Re-derives every round's rewards in order from the published records and compares them with
 * what was paid. Returns the mismatches (an empty list is a pass).
 */
export function auditRewards(
  rounds: readonly { record: RoundRecord; paid: ReadonlyMap<ClientId, bigint> }[],
): { findings: AuditFinding[]; derived: Map<ClientId, bigint>[] } {
  let state = initialScoringState;
  const findings: AuditFinding[] = [];
  const derived: Map<ClientId, bigint>[] = [];
  rounds.forEach(({ record, paid }, r) => {
    const s = scoreRound(record, state);
    state = s.state;
    derived.push(s.rewards);
    const ids = new Set([...s.rewards.keys(), ...paid.keys()]);
    for (const client of [...ids].sort()) {
      const d = s.rewards.get(client) ?? 0n;
      const c = paid.get(client) ?? 0n;
      if (d !== c) findings.push({ round: r, client, claimed: c, derived: d });
    }
  });
  return { findings, derived };
}
