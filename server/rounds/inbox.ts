/**
 * The inbox of the round: where an agent's stage message is checked against the round's state
 * and stored. `senderInRound` is the one read (the round locked against a concurrent close, the
 * sender and its group) and the checks every stage shares; `stagePayload` the checks of each
 * stage and the form it is stored in; `storeStageMessage` stores the message and advances the
 * sender in one statement.
 */
import type { EntityManager } from 'typeorm';
import type { AdvertiseKeys, MaskedInput } from '../../aggregation/index.js';
import type { RoundState } from '../db/entities.js';
import { ProtocolError } from '../errors.js';
import { encodeStored } from './codec.js';
import { groupKey, REJECTS, roundKey, type Complaint } from './group-session.js';
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

export interface StagePayload {
  payload: Buffer;
  /** Declared with the masked input: the sample weight in its weight word. */
  samples: number | null;
  /** A masked input's vector, kept in memory for the stage's close. */
  vector?: Uint8Array;
  /** A masked input's complaint about undecryptable shares (stored in a row of its own). */
  complaint?: Complaint;
}

/**
 * The checks of one stage's message (advertised keys signed by a certified key; a masked input
 * of the round's length, with its declared samples within the weight cap and a pair seed for
 * every rejected neighbour) and the form it is stored in.
 */
export function stagePayload(
  stage: AgentStage,
  msg: unknown,
  sender: Sender,
  env: { samples?: number },
  ctx: { dim: number; keysSigned(m: AdvertiseKeys): boolean },
): StagePayload {
  if (stage === 'keys') {
    const m = msg as AdvertiseKeys;
    if (!ctx.keysSigned(m)) {
      throw new ProtocolError(
        'BAD_SIGNATURE',
        'advertised keys are not signed by a key the agent’s wallet certified for this bounty',
      );
    }
    return { payload: encodeStored(m), samples: null };
  }
  if (stage !== 'masked') return { payload: encodeStored(msg), samples: null };
  const m = msg as MaskedInput;
  if (m.vector.byteLength !== ctx.dim * 4) {
    throw new ProtocolError(
      'VECTOR_LENGTH',
      `masked input of ${m.vector.byteLength} bytes, round wants ${ctx.dim * 4}`,
    );
  }
  const s = env.samples;
  const cap = sender.quant.maxWeight!;
  if (typeof s !== 'number' || !Number.isInteger(s) || s < 1 || s > cap) {
    throw new ProtocolError('BAD_REQUEST', `samples must be an integer in [1, ${cap}]`);
  }
  const seeds = m.rejectedSeeds ?? [];
  if (
    seeds.length !== (m.rejected?.length ?? 0) ||
    seeds.some((p, k) => p.with !== m.rejected![k])
  ) {
    throw new ProtocolError(
      'BAD_REQUEST',
      'a complaint carries the pair seed with each rejected neighbour, in order',
    );
  }
  return {
    payload: Buffer.from(m.vector.buffer, m.vector.byteOffset, m.vector.byteLength),
    samples: s,
    vector: m.vector,
    ...(m.rejected?.length
      ? { complaint: { rejected: m.rejected, rejectedSeeds: m.rejectedSeeds } }
      : {}),
  };
}

/** Stores a masked input's complaint (with the pair seeds it owes) beside the input. */
export async function storeComplaint(
  em: EntityManager,
  groupId: number,
  address: string,
  complaint: Complaint,
): Promise<void> {
  await em.query(
    `INSERT INTO stage_message (group_id, stage, address, payload) VALUES ($1, $2, $3, $4)`,
    [groupId, REJECTS, address, encodeStored(complaint)],
  );
}
