/**
 * The inbox of the round: where an agent's stage message is checked against the round's state
 * and stored. `senderInRound` is the one read (the round locked against a concurrent close, the
 * sender and its group) and the checks every stage shares; `storeStageMessage` stores the message
 * and advances the sender in one statement. The rounds service adds the stage-specific checks.
 */
import type { EntityManager } from 'typeorm';
import type { RoundState } from '../db/entities.js';
import { ProtocolError } from '../errors.js';
import { groupKey, roundKey } from './group-session.js';
import { ACTIVE_STATES, PREV, stageIndex, type AgentStage } from './stages.js';

export interface Sender {
  bountyId: number;
  number: number;
  quant: Record<string, number>;
  groupId: number;
  index: number;
}

/**
 * Loads the round and the sender's place in it, and refuses (typed) a message for another stage,
 * a round the sender is not in, a repeat, a sender no longer in its group, or a header that names
 * another round, group or client.
 */
export async function senderInRound(
  em: EntityManager,
  roundId: number,
  address: string,
  stage: AgentStage,
  header: { round: string; group: string; client: string },
): Promise<Sender> {
  const [row] = (await em.query(
    `SELECT r.bounty_id AS "bountyId", r.number, r.state, r.quant,
            p.progress, p.group_id AS "groupId", g.state AS "groupState", g.index
       FROM round r
       LEFT JOIN participant p ON p.round_id = r.id AND p.address = $2
       LEFT JOIN round_group g ON g.id = p.group_id
      WHERE r.id = $1
        FOR SHARE OF r`,
    [roundId, address],
  )) as {
    bountyId: number;
    number: number;
    state: RoundState;
    quant: Record<string, number>;
    progress: string | null;
    groupId: number | null;
    groupState: string | null;
    index: number | null;
  }[];
  if (!row) throw new ProtocolError('NOT_FOUND', `no round ${roundId}`);
  if (row.state !== stage) {
    const ahead = stageIndex(stage) > stageIndex(row.state as AgentStage);
    throw ahead && ACTIVE_STATES.has(row.state)
      ? new ProtocolError('WRONG_STAGE', `round ${roundId} is in stage ${row.state}`)
      : new ProtocolError(
          'STAGE_CLOSED',
          `stage ${stage} of round ${roundId} is closed (${row.state})`,
        );
  }
  if (row.progress === null) {
    throw new ProtocolError('NOT_IN_ROUND', `${address} is not in round ${roundId}`);
  }
  if (row.progress === stage) throw new ProtocolError('DUPLICATE', `${stage} already received`);
  if (row.progress !== PREV[stage]) {
    throw new ProtocolError(
      'NOT_IN_GROUP',
      `${address} is no longer in its group (${row.progress})`,
    );
  }
  if (row.groupState !== 'active') throw new ProtocolError('NOT_IN_GROUP', 'group dropped');
  if (
    header.round !== roundKey(row) ||
    header.group !== groupKey({ index: row.index! }) ||
    header.client !== address
  ) {
    throw new ProtocolError('BAD_REQUEST', 'message header names another round, group or client');
  }
  return {
    bountyId: row.bountyId,
    number: row.number,
    quant: row.quant,
    groupId: row.groupId!,
    index: row.index!,
  };
}

/** Stores a stage message and advances its sender to that stage (with its samples, if any). */
export async function storeStageMessage(
  em: EntityManager,
  roundId: number,
  groupId: number,
  stage: string,
  address: string,
  payload: Buffer,
  samples: number | null,
): Promise<void> {
  await em.query(
    `WITH ins AS (INSERT INTO stage_message (group_id, stage, address, payload) VALUES ($1, $2, $3, $4))
     UPDATE participant SET progress = $2, samples = coalesce($5, samples)
      WHERE round_id = $6 AND address = $3`,
    [groupId, stage, address, payload, samples, roundId],
  );
}
