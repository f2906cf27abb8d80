/**
 * The inbox of the round: where an agent's stage message is checked against the round's state
 * and stored. A round's members, groups and quantisation never change once it opens, so each
 * instance reads them once per round (`RoundPlaces`) and checks a message's header and payload
 * (`stagePayload`) against them in memory; `storeIfOpen` then stores it and advances the sender in
 * one statement, which also checks everything that does change (the round's stage, the sender's
 * progress, its group's state) under the round's row lock. A message costs one round trip to
 * PostgreSQL, and the typed error of a refused one is read only when it is refused.
 */
import type { DataSource } from 'typeorm';
import type { AdvertiseKeys, MaskedInput } from '../../aggregation/index.js';
import type { RoundState } from '../db/entities.js';
import { SharedReads } from '../db/shared-reads.js';
import { ProtocolError } from '../errors.js';
import { encodeStored } from './codec.js';
import { groupKey, REJECTS, roundKey, type Complaint } from './group-session.js';
import { ACTIVE_STATES, PREV, stageIndex, type AgentStage } from './stages.js';
import { isUniqueViolation } from './unique.js';

export interface Sender {
  bountyId: number;
  number: number;
  quant: Record<string, number>;
  groupId: number;
  index: number;
}

interface Places {
  bountyId: number;
  number: number;
  quant: Record<string, number>;
  members: Map<string, { groupId: number; index: number }>;
}

/** What never changes about a round once it is open: who is in it, in which group. */
export class RoundPlaces {
  private readonly rounds = new SharedReads<number, Places>(64);

  /** The sender's place in the round: NOT_FOUND (no such round) or NOT_IN_ROUND. */
  async of(ds: DataSource, roundId: number, address: string): Promise<Sender> {
    const places = await this.rounds.get(roundId, () => this.load(ds, roundId));
    if (!places) throw new ProtocolError('NOT_FOUND', `no round ${roundId}`);
    const place = places.members.get(address);
    if (!place) throw new ProtocolError('NOT_IN_ROUND', `${address} is not in round ${roundId}`);
    return {
      bountyId: places.bountyId,
      number: places.number,
      quant: places.quant,
      groupId: place.groupId,
      index: place.index,
    };
  }

  private async load(ds: DataSource, roundId: number): Promise<Places | null> {
    // Participants are written with their round, in the transaction that opens it.
    const rows = (await ds.query(
      `SELECT r.bounty_id AS "bountyId", r.number, r.quant, p.address,
              p.group_id AS "groupId", g.index
         FROM round r
         LEFT JOIN participant p ON p.round_id = r.id
         LEFT JOIN round_group g ON g.id = p.group_id
        WHERE r.id = $1`,
      [roundId],
    )) as {
      bountyId: number;
      number: number;
      quant: Record<string, number>;
      address: string | null;
      groupId: number | null;
      index: number | null;
    }[];
    if (rows.length === 0) return null;
    const members = new Map<string, { groupId: number; index: number }>();
    for (const r of rows) {
      if (r.address) members.set(r.address, { groupId: r.groupId!, index: r.index! });
    }
    const { bountyId, number, quant } = rows[0]!;
    return { bountyId, number, quant, members };
  }
}

/** Refuses (BAD_REQUEST) a header that names another round, group or client. */
export function checkHeader(
  sender: Sender,
  address: string,
  header: { round: string; group: string; client: string },
): void {
  if (
    header.round !== roundKey(sender) ||
    header.group !== groupKey({ index: sender.index }) ||
    header.client !== address
  ) {
    throw new ProtocolError('BAD_REQUEST', 'message header names another round, group or client');
  }
}

/**
 * Stores a checked stage message (and a masked input's complaint) and advances its sender to that
 * stage, in one statement that holds the round's row lock: a stage's close (which takes it for
 * update) sees the message or refuses it, never half of it. Nothing is stored, and the typed error
 * says why, for a message to a stage that is not open, a repeat, or a sender no longer in its
 * group.
 */
export async function storeIfOpen(
  ds: DataSource,
  roundId: number,
  sender: Sender,
  stage: AgentStage,
  address: string,
  p: StagePayload,
): Promise<void> {
  let stored: number;
  try {
    [{ stored }] = (await ds.query(
      `WITH r AS (SELECT state FROM round WHERE id = $1 FOR SHARE),
            moved AS (
              UPDATE participant p SET progress = $2, samples = coalesce($5, p.samples)
                FROM round_group g
               WHERE p.round_id = $1 AND p.address = $3 AND p.progress = $6
                 AND g.id = p.group_id AND g.state = 'active'
                 AND (SELECT state FROM r) = $2
              RETURNING p.group_id),
            msg AS (
              INSERT INTO stage_message (group_id, stage, address, payload)
              SELECT group_id, $2, $3, $4 FROM moved),
            complaint AS (
              INSERT INTO stage_message (group_id, stage, address, payload)
              SELECT group_id, $7, $3, $8 FROM moved WHERE $8::bytea IS NOT NULL)
       SELECT (SELECT count(*) FROM moved)::int AS stored`,
      [
        roundId,
        stage,
        address,
        p.payload,
        p.samples,
        PREV[stage],
        REJECTS,
        p.complaint ? encodeStored(p.complaint) : null,
      ],
    )) as { stored: number }[];
  } catch (err) {
    // The same message sent several times at once: all but one meet the unique key.
    if (isUniqueViolation(err)) throw new ProtocolError('DUPLICATE', 'message already received');
    throw err;
  }
  if (stored === 1) return;
  throw (
    (await notOpenFor(ds, roundId, sender, stage, address)) ??
    new ProtocolError('NOT_IN_GROUP', `${address} is no longer in its group`)
  );
}

/**
 * Why the stage is not open for the sender (the round in another stage, a repeat, the sender or
 * its group dropped), read from PostgreSQL; undefined when it is open. Checked when a message is
 * refused, so that a late or repeated one says so whatever else is wrong with it.
 */
export async function notOpenFor(
  ds: DataSource,
  roundId: number,
  sender: Sender,
  stage: AgentStage,
  address: string,
): Promise<ProtocolError | undefined> {
  const [row] = (await ds.query(
    `SELECT r.state, p.progress, g.state AS "groupState"
       FROM round r
       JOIN participant p ON p.round_id = r.id AND p.address = $2
       JOIN round_group g ON g.id = $3
      WHERE r.id = $1`,
    [roundId, address, sender.groupId],
  )) as { state: RoundState; progress: string; groupState: string }[];
  if (!row) return new ProtocolError('NOT_FOUND', `no round ${roundId}`);
  if (row.state !== stage) {
    const ahead = stageIndex(stage) > stageIndex(row.state as AgentStage);
    return ahead && ACTIVE_STATES.has(row.state)
      ? new ProtocolError('WRONG_STAGE', `round ${roundId} is in stage ${row.state}`)
      : new ProtocolError(
          'STAGE_CLOSED',
          `stage ${stage} of round ${roundId} is closed (${row.state})`,
        );
  }
  if (row.progress === stage) return new ProtocolError('DUPLICATE', `${stage} already received`);
  if (row.progress !== PREV[stage]) {
    return new ProtocolError(
      'NOT_IN_GROUP',
      `${address} is no longer in its group (${row.progress})`,
    );
  }
  if (row.groupState !== 'active') return new ProtocolError('NOT_IN_GROUP', 'group dropped');
  return undefined;
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
