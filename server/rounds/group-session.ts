/**
 * Rebuilds a group's SecAgg+ server state from the stage messages stored in Postgres. Messages of a
 * closed stage never change (late ones are refused under the round's row lock), so a state rebuilt
 * on any instance is the same; the in-process cache only saves the replay.
 */
import {
  AggregationError,
  SecAggGroupServer,
  WordAccumulator,
  specParamCount,
  specPrg,
  type BountySpec,
  type GroupParams,
  type GroupResult,
  type MaskedInput,
} from '../../aggregation/index.js';
import type { EntityManager } from 'typeorm';
import type { Round, RoundGroup } from '../db/entities.js';
import { AGENT_STAGES, type AgentStage } from './stages.js';
import { decodeStored, plainBytes } from './codec.js';

export const roundKey = (r: Pick<Round, 'bountyId' | 'number'>): string =>
  `${r.bountyId}:${r.number}`;
export const groupKey = (g: Pick<RoundGroup, 'index'>): string => `g${g.index}`;

export function groupParams(round: Round, group: RoundGroup, spec: BountySpec): GroupParams {
  return {
    round: roundKey(round),
    group: groupKey(group),
    dim: specParamCount(spec) + 1,
    neighbours: group.neighbours,
    threshold: group.threshold,
    prg: specPrg(spec),
  };
}

/** The message a stage's close hands each member (the input of that member's next step). */
export type Outgoing = Map<string, unknown>;

const ORDER: readonly AgentStage[] = AGENT_STAGES;

/** A vector held in memory is already a plain, 4-byte-aligned Uint8Array (no copy needed). */
function isPlainAligned(b: Uint8Array): boolean {
  return b instanceof Uint8Array && !Buffer.isBuffer(b) && b.byteOffset % 4 === 0;
}

/** A masked input's complaint, stored beside its vector (the `rejects` row). */
export type Complaint = Pick<MaskedInput, 'rejected' | 'rejectedSeeds'>;

export function toWire(
  stage: AgentStage,
  address: string,
  round: Round,
  group: RoundGroup,
  payload: Buffer | Uint8Array,
  complaint?: Complaint,
): unknown {
  if (stage === 'masked') {
    return {
      type: 'masked',
      round: roundKey(round),
      group: groupKey(group),
      client: address,
      vector: isPlainAligned(payload) ? payload : plainBytes(payload),
      ...(complaint?.rejected?.length ? complaint : {}),
    };
  }
  return decodeStored(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
}

export function closeStage(s: SecAggGroupServer, stage: AgentStage): Outgoing {
  switch (stage) {
    case 'keys': {
      const roster = s.closeAdvertise();
      return new Map(roster.map((m) => [m.client, roster]));
    }
    case 'shares':
      return s.closeShares();
    case 'masked': {
      const req = s.closeMasked();
      return new Map(req.survivors.map((c) => [c, req]));
    }
    case 'confirm':
      return s.closeConfirm();
    case 'unmask':
      throw new Error('the unmask stage ends with finish()');
  }
}

/**
 * Stored messages of some stages. Masked inputs this instance accepted are held in memory, so
 * their (large) payloads are not read back; those another instance accepted come from Postgres.
 */
async function storedMessages(
  em: EntityManager,
  groupId: number,
  stages: AgentStage[],
  held: ReadonlyMap<string, Uint8Array> | undefined,
): Promise<
  { stage: AgentStage; address: string; payload: Buffer | Uint8Array; complaint?: Complaint }[]
> {
  const skip = held ? [...held.keys()] : [];
  // A masked input's rejections (stage 3 complaints) are a row of their own beside its vector.
  const wanted = stages.includes('masked') ? [...stages, REJECTS] : stages;
  const rows = (await em.query(
    `SELECT stage, address,
            CASE WHEN stage = 'masked' AND address = ANY($3) THEN NULL ELSE payload END AS payload
       FROM stage_message WHERE group_id = $1 AND stage = ANY($2) ORDER BY id`,
    [groupId, wanted, skip],
  )) as {
    stage: AgentStage | typeof REJECTS;
    address: string;
    payload: Buffer | Uint8Array | null;
  }[];
  const rejects = new Map(
    rows
      .filter((r) => r.stage === REJECTS)
      .map((r) => [r.address, decodeStored<Complaint>(Buffer.from(r.payload!))] as const),
  );
  return rows
    .filter((r): r is typeof r & { stage: AgentStage } => r.stage !== REJECTS)
    .map((r) => ({
      ...r,
      payload: r.payload ?? held!.get(r.address)!,
      complaint: r.stage === 'masked' ? rejects.get(r.address) : undefined,
    }));
}

/** The stage_message kind that holds a masked input's rejections (see storedMessages). */
export const REJECTS = 'rejects';

interface Cached {
  session: SecAggGroupServer;
  /** Stages closed so far. */
  closed: number;
  last: Outgoing | null;
}

/** The round a group belongs to, to forget it once its bounty's next round shows up. */
type GroupOwner = Pick<Round, 'id' | 'bountyId'>;

export class GroupSessions {
  private readonly cache = new Map<number, Cached>();
  /** Masked inputs accepted by this instance, per group, until the masked stage closes. */
  private readonly held = new Map<number, Map<string, Uint8Array>>();
  /**
   * The round of each group held or cached here. With several instances, the one that closes or
   * aggregates a group is not always the one that held it, so `forget` alone would leave groups
   * behind on the others: a bounty runs one round at a time, so a group of an earlier round of the
   * same bounty is finished and goes when a later round's group is held or kept.
   */
  private readonly owners = new Map<number, GroupOwner>();
  private readonly latest = new Map<number, number>();

  private own(groupId: number, round: GroupOwner): void {
    if ((this.latest.get(round.bountyId) ?? -1) < round.id) {
      this.latest.set(round.bountyId, round.id);
      for (const [g, o] of this.owners)
        if (o.bountyId === round.bountyId && o.id < round.id) this.forget(g);
    }
    this.owners.set(groupId, { id: round.id, bountyId: round.bountyId });
  }

  /** Groups with state held here (tests check that finished rounds leave none behind). */
  groups(): number[] {
    return [...new Set([...this.cache.keys(), ...this.held.keys()])];
  }

  holdMasked(round: GroupOwner, groupId: number, address: string, vector: Uint8Array): void {
    this.own(groupId, round);
    let m = this.held.get(groupId);
    if (!m) this.held.set(groupId, (m = new Map()));
    m.set(address, vector);
  }

  /**
   * A session with every stage before `stage` closed and `stage`'s stored messages received.
   * Returns also what the last close sent out (for resuming agents).
   */
  async upTo(
    em: EntityManager,
    round: Round,
    group: RoundGroup,
    spec: BountySpec,
    stage: AgentStage,
    opts: { receive: boolean } = { receive: true },
  ): Promise<{ session: SecAggGroupServer; last: Outgoing | null; rejected: string[] }> {
    const target = ORDER.indexOf(stage);
    let c = this.cache.get(group.id);
    if (!c || c.closed > target) {
      c = {
        session: new SecAggGroupServer(groupParams(round, group, spec), group.members),
        closed: 0,
        last: null,
      };
    }
    const rejected: string[] = [];
    const needed = ORDER.slice(c.closed, opts.receive ? target + 1 : target);
    if (needed.length) {
      // The caller keeps the session again once its close succeeded.
      this.cache.delete(group.id);
      const rows = await storedMessages(em, group.id, needed, this.held.get(group.id));
      for (const st of needed) {
        for (const r of rows) {
          if (r.stage !== st) continue;
          try {
            await c.session.receive(toWire(st, r.address, round, group, r.payload, r.complaint));
          } catch (err) {
            if (!(err instanceof AggregationError)) throw err;
            if (process.env.TEST_LOG) console.warn('rejected', st, r.address, err.message);
            rejected.push(r.address);
          }
        }
        if (ORDER.indexOf(st) < target) {
          c.last = closeStage(c.session, st);
          c.closed = ORDER.indexOf(st) + 1;
        }
      }
    }
    return { session: c.session, last: c.last, rejected };
  }

  /** Keeps a session whose stages before `closedThrough` (exclusive index) are closed. */
  keep(
    round: GroupOwner,
    groupId: number,
    session: SecAggGroupServer,
    closed: AgentStage | 'none',
    last: Outgoing | null,
  ): void {
    this.own(groupId, round);
    if (closed === 'masked') this.held.delete(groupId);
    this.cache.set(groupId, {
      session,
      closed: closed === 'none' ? 0 : ORDER.indexOf(closed) + 1,
      last,
    });
  }

  /**
   * A plaintext group's result (benchmarks only, BountySpec.plaintext): the sum of the unmasked
   * inputs its members sent at the masked stage.
   */
  async plainSum(em: EntityManager, group: RoundGroup, dim: number): Promise<GroupResult> {
    const rows = await storedMessages(em, group.id, ['masked'], this.held.get(group.id));
    const acc = new WordAccumulator(dim);
    for (const r of rows)
      acc.addWords(isPlainAligned(r.payload) ? r.payload : plainBytes(r.payload));
    const included = rows.map((r) => r.address).sort();
    return { sum: acc.view(), included, dropped: [], excluded: [], badShares: [] };
  }

  forget(groupId: number): void {
    this.cache.delete(groupId);
    this.held.delete(groupId);
    this.owners.delete(groupId);
  }
}
