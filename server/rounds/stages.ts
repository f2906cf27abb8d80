/**
 * The round's agent stages in protocol order: the one table from which every list, map and SQL
 * fragment about stages is derived (the round state after each close, the progress a participant
 * must have to answer a stage, the SQL that finds who owes the open stage, the wire schema).
 *
 *   keys     AdvertiseKeys   Bonawitz et al. 2017 round 0
 *   shares   ShareKeys       round 1
 *   masked   MaskedInput     round 2 (with complaints about undecryptable shares)
 *   confirm  Confirm         round 3, the consistency check: survivors sign the survivor set
 *   unmask   Unmask          round 4; its close is the aggregation
 */
import type { z } from 'zod';
import { AdvertiseKeys, Confirm, MaskedInput, ShareKeys, Unmask } from '../../aggregation/index.js';
import type { RoundState } from '../db/entities.js';

export const AGENT_STAGES = ['keys', 'shares', 'masked', 'confirm', 'unmask'] as const;
export type AgentStage = (typeof AGENT_STAGES)[number];

/** The wire schema of each stage's message. */
export const STAGE_SCHEMA: Record<
  AgentStage,
  z.ZodType<{ round: string; group: string; client: string }>
> = {
  keys: AdvertiseKeys,
  shares: ShareKeys,
  masked: MaskedInput,
  confirm: Confirm,
  unmask: Unmask,
};

/** Round states in which agents are answering a stage (or the round is about to open one). */
export const ACTIVE_STATES: ReadonlySet<RoundState> = new Set<RoundState>([
  'open',
  ...AGENT_STAGES,
]);

/** The round's state once a stage has closed. */
export const NEXT = Object.fromEntries(
  AGENT_STAGES.map((s, i) => [s, AGENT_STAGES[i + 1] ?? 'aggregated']),
) as Record<AgentStage, RoundState>;

/** The progress a participant has when it may answer a stage: the stage before, or 'selected'. */
export const PREV = Object.fromEntries(
  AGENT_STAGES.map((s, i) => [s, AGENT_STAGES[i - 1] ?? 'selected']),
) as Record<AgentStage, string>;

/** Position of a stage in protocol order. */
export const stageIndex = (s: AgentStage): number => AGENT_STAGES.indexOf(s);

export function isAgentStage(s: string): s is AgentStage {
  return (AGENT_STAGES as readonly string[]).includes(s);
}

/** SQL: the progress a participant of round `r` owes in the round's open stage. */
export const OWED_PROGRESS_SQL = `CASE r.state ${AGENT_STAGES.map(
  (s) => `WHEN '${s}' THEN '${PREV[s]}'`,
).join(' ')} END`;

/** SQL list of the agent stages, e.g. for `r.state IN (...)`. */
export const AGENT_STAGES_SQL = AGENT_STAGES.map((s) => `'${s}'`).join(', ');
