/**
 * The round state machine: open -> keys -> shares -> masked -> unmask -> aggregated -> scored ->
 * settled, or aborted with a reason. Every transition is a row update under the round's lock; agents'
 * messages are stored before they are acknowledged; stage deadlines are delayed BullMQ jobs that a
 * stage everyone answered promotes. Nothing here lives only in memory.
 */
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { getAddress } from 'ethers';
import { DataSource, IsNull, Not, type EntityManager } from 'typeorm';
import {
  AggregationError,
  cryptoRng,
  planGroups,
  DEFAULT_WEIGHT_CAP,
  makeQuantConfig,
  type QuantConfig,
  defaultGroupParams,
  specPrg,
  AdvertiseKeys,
  MaskedInput,
  encodeFrame,
} from '../../aggregation/index.js';
import type { ServerConfig } from '../config.js';
import {
  Bounty,
  BountyMember,
  Participant,
  Round,
  RoundGroup,
  type AgentStage,
  type RoundState,
} from '../db/entities.js';
import { ProtocolError } from '../errors.js';
import { AgentKeys } from '../auth/agent-keys.js';
import { Hub } from '../gateway/hub.js';
import type { RoundStart } from '../../aggregation/index.js';
import { paramCount } from '../models/artifact.js';
import { ModelsService } from '../models/models.service.js';
import { QueueService } from '../queue/queue.service.js';
import { CONFIG } from '../tokens.js';
import { storeGroupSum } from './group-sum.js';
import { senderInRound, storeStageMessage } from './inbox.js';
import { applyStrategy } from './strategy.js';
import { encodeStored } from './codec.js';
import { uniqueTransaction } from './unique.js';
import {
  ACTIVE_STATES,
  AGENT_STAGES_SQL,
  NEXT,
  OWED_PROGRESS_SQL,
  PREV,
  STAGE_SCHEMA,
} from './stages.js';
import {
  closeStage,
  GroupSessions,
  groupKey,
  REJECTS,
  roundKey,
  type Complaint,
  type Outgoing,
} from './group-session.js';

const ACTIVE = ACTIVE_STATES;
const SCHEMA = STAGE_SCHEMA;
/** Advisory-lock namespace for "one round opens at a time per bounty". */
const OPEN_LOCK = 0x7472;
/** Largest integer sample weight an update may carry when the spec names no cap. */
export const DEFAULT_MAX_WEIGHT = DEFAULT_WEIGHT_CAP;

export interface StageEnvelope {
  roundId: number;
  stage: AgentStage;
  message: unknown;
  samples?: number;
}

export function quantOf(round: Round): QuantConfig {
  return makeQuantConfig({
    clip: round.quant.clip!,
    maxClients: round.quant.maxClients!,
    maxWeight: round.quant.maxWeight!,
    scale: round.quant.scale!,
  });
}

@Injectable()
export class RoundsService implements OnModuleInit {
  private readonly log = new Logger('Rounds');
  readonly sessions = new GroupSessions();

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(CONFIG) private readonly config: ServerConfig,
    @Inject(QueueService) private readonly queue: QueueService,
    @Inject(Hub) private readonly hub: Hub,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(AgentKeys) private readonly agentKeys: AgentKeys,
  ) {}

  private readonly dims = new Map<number, number>();

  /** Words in a bounty's SecAgg vectors (parameters + the weight word); specs never change. */
  private async dimOf(em: EntityManager, bountyId: number): Promise<number> {
    let d = this.dims.get(bountyId);
    if (d === undefined) {
      const bounty = await em.findOneByOrFail(Bounty, { id: bountyId });
      d = paramCount(bounty.spec) + 1;
      this.dims.set(bountyId, d);
    }
    return d;
  }

  /** How long a stage stays open (the consistency check takes the unmask stage's if unset). */
  private stageMs(stage: AgentStage): number {
    const t = this.config.stageTimeoutsMs;
    return stage === 'confirm' ? (t.confirm ?? t.unmask) : t[stage];
  }

  /** A bounty run without secure aggregation (benchmarks only; see BountySpec.plaintext). */
  private plaintext(spec: Bounty['spec']): boolean {
    return spec.plaintext === true && this.config.allowPlaintext === true;
  }

  get gatherMs(): number {
    return this.config.gatherMs;
  }

  onModuleInit(): void {
    this.queue.register('open-round', (d) => this.openRound(Number(d.bountyId)));
    this.queue.register('close-stage', (d) =>
      d.stage === 'unmask'
        ? this.aggregate(Number(d.roundId))
        : this.closeStage(Number(d.roundId), d.stage as AgentStage),
    );
    this.queue.register('aggregate', (d) => this.aggregate(Number(d.roundId)));
    this.queue.register('check-dropout', (d) => this.checkDropout(String(d.address)));
  }

  // ---------------------------------------------------------------- joining

  async join(address: string, bountyId: number) {
    const bounty = await this.ds.getRepository(Bounty).findOneBy({ id: bountyId });
    if (!bounty) throw new ProtocolError('NOT_FOUND', `no bounty ${bountyId}`);
    if (bounty.status !== 'open')
      throw new ProtocolError('STAGE_CLOSED', `bounty ${bountyId} is finished`);
    await this.ds
      .createQueryBuilder()
      .insert()
      .into(BountyMember)
      .values({ bountyId, address })
      .orIgnore()
      .execute();
    return {
      bounty: {
        id: bounty.id,
        roundsTotal: bounty.roundsTotal,
        minParticipants: bounty.spec.minParticipants,
        train: bounty.spec.train,
      },
    };
  }

  /** Asks a worker to open the next round if none is running and enough agents are online. */
  scheduleOpen(bountyId: number, delayMs = 100): void {
    const bucket = Math.floor(Date.now() / 250);
    this.queue
      .add('open-round', { bountyId }, `open-${bountyId}-${bucket}`, { delay: delayMs })
      .catch((err: unknown) => this.log.error(err));
  }

  async openRound(bountyId: number): Promise<void> {
    const opened = await this.ds.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock($1, $2)', [OPEN_LOCK, bountyId]);
      const bounty = await em.findOneBy(Bounty, { id: bountyId });
      if (!bounty || bounty.status !== 'open') return null;
      const last = await em.findOne(Round, { where: { bountyId }, order: { number: 'DESC' } });
      if (last && ACTIVE.has(last.state)) return null;
      const done = await em.count(Round, { where: { bountyId, ledgerRound: Not(IsNull()) } });
      if (done >= bounty.roundsTotal) {
        await em.update(Bounty, { id: bountyId }, { status: 'finished' });
        return null;
      }
      const members = new Set(
        (await em.find(BountyMember, { where: { bountyId } })).map((m) => m.address),
      );
      const online = (await this.hub.connected(bountyId)).filter((a) => members.has(a));
      const spec = bounty.spec;
      if (online.length < Math.max(3, spec.minParticipants)) return null;
      // One group drawing for the aggregator and the simulation (aggregation's planGroups), with
      // every choice from a CSPRNG so that join order cannot steer who is grouped with whom.
      const minGroupSize = Math.max(3, spec.minGroupSize);
      if (online.length < minGroupSize) return null;
      const groups = planGroups(online, {
        minGroupSize,
        maxGroups: spec.maxGroups,
        rng: cryptoRng(),
      });
      if (groups.length === 0) return null;
      const model = await this.models.latest(bountyId, em);
      if (!model) throw new Error(`bounty ${bountyId} has no initial model`);
      const maxClients = Math.max(...groups.map((g) => g.length));
      const q = makeQuantConfig({
        clip: spec.clip,
        maxClients,
        maxWeight: spec.weightCap ?? DEFAULT_MAX_WEIGHT,
      });
      const now = Date.now();
      // A plaintext round (benchmarks) opens at the masked stage: no keys, shares or unmask.
      const first: AgentStage = this.plaintext(spec) ? 'masked' : 'keys';
      const deadline = now + this.stageMs(first);
      const round = await em.save(
        em.create(Round, {
          bountyId,
          number: (last?.number ?? 0) + 1,
          state: first,
          abortReason: null,
          modelVersion: model.version,
          quant: { clip: q.clip, scale: q.scale, maxClients: q.maxClients, maxWeight: q.maxWeight },
          stageDeadline: new Date(deadline),
          timing: { open: now, [first]: now },
          scoring: null,
          ledgerRound: null,
        }),
      );
      const rows: RoundGroup[] = [];
      for (let i = 0; i < groups.length; i++) {
        const members = [...groups[i]!].sort();
        const p = defaultGroupParams(members.length);
        rows.push(
          await em.save(
            em.create(RoundGroup, {
              roundId: round.id,
              index: i,
              members,
              threshold: p.threshold,
              neighbours: p.neighbours,
              state: 'active',
              dropReason: null,
              survivors: [],
              sum: null,
              weight: 0,
              sumHash: null,
              offenders: [],
            }),
          ),
        );
      }
      await em.insert(
        Participant,
        rows.flatMap((g) =>
          g.members.map((address) => ({
            roundId: round.id,
            address,
            groupId: g.id,
            progress: PREV[first],
            samples: 0,
            score: null,
            reward: null,
          })),
        ),
      );
      return { round, groups: rows, bounty, deadline, first };
    });
    if (!opened) return;
    const { round, groups, bounty, deadline, first } = opened;
    this.log.log(
      `bounty ${bountyId} round ${round.number}: ${groups.map((g) => g.members.length).join('+')} agents`,
    );
    await this.queue.add(
      'close-stage',
      { roundId: round.id, stage: first },
      `close-${round.id}-${first}`,
      { delay: this.stageMs(first) },
    );
    for (const g of groups) {
      for (const address of g.members)
        this.hub.toAgent(address, 'round', this.roundStart(bounty, round, g, address, deadline));
    }
  }

  private roundStart(
    bounty: Bounty,
    round: Round,
    g: RoundGroup,
    address: string,
    deadline: number,
  ): RoundStart {
    return {
      roundId: round.id,
      bountyId: bounty.id,
      round: round.number,
      modelVersion: round.modelVersion,
      modelUrl: `/models/${bounty.id}/versions/${round.modelVersion}/model.json`,
      group: {
        index: g.index,
        members: g.members,
        threshold: g.threshold,
        myId: g.members.indexOf(address) + 1,
        // SecAgg+ parameters every member must agree on.
        ...{
          neighbours: g.neighbours,
          key: groupKey(g),
          round: roundKey(round),
          dim: paramCount(bounty.spec) + 1,
          prg: specPrg(bounty.spec),
        },
      },
      quant: quantOf(round),
      train: bounty.spec.train,
      deadline,
      ...(this.plaintext(bounty.spec) ? { plaintext: true as const } : {}),
    };
  }

  // ---------------------------------------------------------------- stage messages

  async accept(addressIn: string, env: StageEnvelope): Promise<void> {
    const address = getAddress(addressIn);
    const { roundId, stage } = env;
    const parsed = SCHEMA[stage].safeParse(env.message);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ProtocolError(
        'BAD_REQUEST',
        `${stage}: ${issue?.path.join('.')} ${issue?.message}`,
      );
    }
    const msg = parsed.data;
    let vector: Uint8Array | undefined;
    let groupId = 0;
    let bountyId = 0;
    await uniqueTransaction(this.ds, async (em) => {
      // The round, the sender's place in it and the checks every stage shares: inbox.ts.
      const row = await senderInRound(em, roundId, address, stage, msg);
      groupId = row.groupId!;
      bountyId = row.bountyId;
      let samples: number | null = null;
      let payload: Buffer;
      if (stage === 'keys') {
        const m = msg as AdvertiseKeys;
        if (!this.agentKeys.keysSigned(row.bountyId, address, m)) {
          throw new ProtocolError(
            'BAD_SIGNATURE',
            'advertised keys are not signed by a key the agent’s wallet certified for this bounty',
          );
        }
        payload = encodeStored(m);
      } else if (stage === 'masked') {
        const m = msg as MaskedInput;
        const dim = await this.dimOf(em, row.bountyId);
        if (m.vector.byteLength !== dim * 4) {
          throw new ProtocolError(
            'VECTOR_LENGTH',
            `masked input of ${m.vector.byteLength} bytes, round wants ${dim * 4}`,
          );
        }
        const s = env.samples;
        if (typeof s !== 'number' || !Number.isInteger(s) || s < 1 || s > row.quant.maxWeight!) {
          throw new ProtocolError(
            'BAD_REQUEST',
            `samples must be an integer in [1, ${row.quant.maxWeight}]`,
          );
        }
        samples = s;
        vector = m.vector;
        payload = Buffer.from(m.vector.buffer, m.vector.byteOffset, m.vector.byteLength);
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
        if (m.rejected?.length) {
          // Complaints about undecryptable shares (with the pair seeds they owe) travel with the
          // masked input (SecAgg server).
          const complaint: Complaint = { rejected: m.rejected, rejectedSeeds: m.rejectedSeeds };
          await em.query(
            `INSERT INTO stage_message (group_id, stage, address, payload) VALUES ($1, $2, $3, $4)`,
            [row.groupId, REJECTS, address, encodeStored(complaint)],
          );
        }
      } else {
        payload = encodeStored(msg);
      }
      await storeStageMessage(em, roundId, groupId, stage, address, payload, samples);
    });
    // Kept in memory too, so the stage's close need not read it back from Postgres.
    if (vector) this.sessions.holdMasked({ id: roundId, bountyId }, groupId, address, vector);
    // Counted after commit: two last answers committing together both see zero (a harmless
    // double close), never neither.
    const [{ waiting }] = (await this.ds.query(
      `SELECT count(*)::int AS waiting FROM participant WHERE round_id = $1 AND progress = $2`,
      [roundId, PREV[stage]],
    )) as { waiting: number }[];
    if (waiting === 0) await this.closeNow(roundId, stage);
  }

  scheduleDropoutCheck(address: string): void {
    this.queue
      .add('check-dropout', { address }, `dropout-${address}-${Date.now()}`, {
        delay: this.config.dropoutGraceMs,
      })
      .catch((err: unknown) => this.log.error(err));
  }

  /**
   * An agent still offline after the grace period, in an active round whose open stage it has not
   * answered, is marked dropped for that round; if everyone else has answered, the stage closes now
   * instead of at its deadline. (SecAgg+ recovers its masks if it dropped after sharing keys.)
   */
  async checkDropout(address: string): Promise<void> {
    if (await this.hub.isOnline(address)) return;
    const rows = (await this.ds.query(
      `SELECT r.id, r.state FROM participant p JOIN round r ON r.id = p.round_id
        WHERE p.address = $1 AND r.state IN (${AGENT_STAGES_SQL})
          AND p.progress = ${OWED_PROGRESS_SQL}`,
      [address],
    )) as { id: number; state: AgentStage }[];
    for (const r of rows) {
      // TypeORM returns [rows, count] for an UPDATE.
      const [, changed] = (await this.ds.query(
        `UPDATE participant p SET progress = 'dropped' FROM round r
          WHERE p.round_id = $1 AND p.address = $2 AND r.id = p.round_id AND r.state = $3
            AND p.progress = $4`,
        [r.id, address, r.state, PREV[r.state]],
      )) as [unknown[], number];
      if (!changed) continue;
      this.log.warn(`round ${r.id}: ${address} dropped in stage ${r.state}`);
      const [{ waiting }] = (await this.ds.query(
        `SELECT count(*)::int AS waiting FROM participant WHERE round_id = $1 AND progress = $2`,
        [r.id, PREV[r.state]],
      )) as { waiting: number }[];
      if (waiting === 0) await this.closeNow(r.id, r.state);
    }
  }

  private async closeNow(roundId: number, stage: AgentStage): Promise<void> {
    const id = `close-${roundId}-${stage}`;
    if (!(await this.queue.promote('close-stage', id))) {
      // Not delayed any more (running or done): the job's own state check makes this a no-op.
      await this.queue.add('close-stage', { roundId, stage }, `${id}-early`);
    }
  }

  async closeStage(roundId: number, stage: AgentStage): Promise<void> {
    const result = await this.ds.transaction(async (em) => {
      const round = await em.findOne(Round, {
        where: { id: roundId },
        lock: { mode: 'pessimistic_write' },
      });
      if (!round || round.state !== stage) return null;
      const bounty = await em.findOneByOrFail(Bounty, { id: round.bountyId });
      // A plaintext round's only stage ends in aggregation.
      if (this.plaintext(bounty.spec)) return { plain: true as const };
      const groups = await em.find(RoundGroup, {
        where: { roundId, state: 'active' },
        order: { index: 'ASC' },
      });
      const out: { address: string; payload: unknown }[] = [];
      const keep: {
        g: RoundGroup;
        session: Awaited<ReturnType<GroupSessions['upTo']>>['session'];
        last: Outgoing;
      }[] = [];
      for (const g of groups) {
        try {
          const { session } = await this.sessions.upTo(em, round, g, bounty.spec, stage);
          const sent = closeStage(session, stage);
          for (const [address, payload] of sent) out.push({ address, payload });
          keep.push({ g, session, last: sent });
        } catch (err) {
          if (!(err instanceof AggregationError)) throw err;
          await this.dropGroup(em, g, err.message);
        }
      }
      const expected = out.map((o) => o.address);
      await em.query(
        `UPDATE participant SET progress = 'dropped' WHERE round_id = $1 AND progress <> 'dropped' AND NOT (address = ANY($2))`,
        [roundId, expected],
      );
      const now = Date.now();
      if (keep.length === 0) {
        await this.abort(em, round, `every group fell below its threshold in stage ${stage}`);
        return { aborted: true as const, round };
      }
      const next = NEXT[stage] as AgentStage;
      const deadline = now + this.stageMs(next);
      await em.update(
        Round,
        { id: roundId },
        {
          state: next,
          stageDeadline: new Date(deadline),
          timing: { ...round.timing, [next]: now },
        },
      );
      return { aborted: false as const, round, next, deadline, out, keep };
    });
    if (!result) return;
    if ('plain' in result) return this.aggregate(roundId);
    if (result.aborted) {
      this.afterAbort(result.round);
      return;
    }
    for (const k of result.keep) this.sessions.keep(result.round, k.g.id, k.session, stage, k.last);
    await this.queue.add(
      'close-stage',
      { roundId, stage: result.next },
      `close-${roundId}-${result.next}`,
      { delay: this.stageMs(result.next) },
    );
    // Members of a group often get the same message (the roster): encode it once.
    const frames = new Map<unknown, Uint8Array>();
    for (const o of result.out) {
      let payload = frames.get(o.payload);
      if (!payload) frames.set(o.payload, (payload = encodeFrame(o.payload)));
      this.hub.toAgent(o.address, 'stage', {
        roundId,
        stage: result.next,
        payload,
        deadline: result.deadline,
      });
    }
    void this.recheckOffline(
      result.round.bountyId,
      result.out.map((o) => o.address),
    );
  }

  /**
   * A member that left after answering the stage that just closed owes the next one, but its
   * disconnect's dropout check found it owing nothing: check the offline ones again, or the new
   * stage would wait for them until its deadline.
   */
  private async recheckOffline(bountyId: number, expected: string[]): Promise<void> {
    try {
      const online = new Set(await this.hub.connected(bountyId));
      for (const a of expected) if (!online.has(a)) this.scheduleDropoutCheck(a);
    } catch (err) {
      this.log.warn(`dropout recheck of bounty ${bountyId}: ${String(err)}`);
    }
  }

  private async dropGroup(em: EntityManager, g: RoundGroup, reason: string): Promise<void> {
    this.sessions.forget(g.id);
    await em.update(RoundGroup, { id: g.id }, { state: 'dropped', dropReason: reason });
    // Nothing secret outlives its round at rest: keys, shares, masked inputs, unmask shares.
    await em.query(`DELETE FROM stage_message WHERE group_id = $1`, [g.id]);
    this.log.warn(`group ${g.id} dropped: ${reason}`);
  }

  private async abort(em: EntityManager, round: Round, reason: string): Promise<void> {
    await em.update(
      Round,
      { id: round.id },
      {
        state: 'aborted',
        abortReason: reason,
        stageDeadline: null,
        timing: { ...round.timing, aborted: Date.now() },
      },
    );
    await em.query(
      `DELETE FROM stage_message WHERE group_id IN (SELECT id FROM round_group WHERE round_id = $1)`,
      [round.id],
    );
  }

  private afterAbort(round: Round): void {
    this.log.warn(`round ${round.id} aborted`);
    void this.notifyRoundEnd(round.id, 'aborted');
    this.scheduleOpen(round.bountyId, 1000);
  }

  private async notifyRoundEnd(roundId: number, state: RoundState, reason?: string): Promise<void> {
    const ps = await this.ds.getRepository(Participant).findBy({ roundId });
    this.hub.toAgents(
      ps.map((p) => p.address),
      'round-end',
      { roundId, state, reason },
    );
  }

  // ---------------------------------------------------------------- aggregation

  /** Closes the unmask stage: unmask + sum each group, apply the strategy, publish the model. */
  async aggregate(roundId: number): Promise<void> {
    const result = await this.ds.transaction(async (em) => {
      const round = await em.findOne(Round, {
        where: { id: roundId },
        lock: { mode: 'pessimistic_write' },
      });
      if (!round) return null;
      const bounty = await em.findOneByOrFail(Bounty, { id: round.bountyId });
      const plain = this.plaintext(bounty.spec);
      if (round.state !== (plain ? 'masked' : 'unmask')) return null;
      const dim = paramCount(bounty.spec) + 1;
      const q = quantOf(round);
      const groups = await em.find(RoundGroup, {
        where: { roundId, state: 'active' },
        order: { index: 'ASC' },
      });
      const t0 = Date.now();
      const sums: { mean: Float32Array; weight: number }[] = [];
      for (const g of groups) {
        try {
          const res = plain
            ? await this.sessions.plainSum(em, g, dim)
            : await (
                await this.sessions.upTo(em, round, g, bounty.spec, 'unmask')
              ).session.finish();
          // Influence bound, storage of the mean update, retention: group-sum.ts.
          const stored = await storeGroupSum(em, g, res, q);
          if (res.badShares.length) {
            this.log.warn(
              `group ${g.id}: wrong unmask shares outvoted from ${[...new Set(res.badShares.map((b) => b.holder))].join(', ')}`,
            );
          }
          sums.push(stored);
        } catch (err) {
          if (!(err instanceof AggregationError)) throw err;
          await this.dropGroup(em, g, err.message);
        } finally {
          this.sessions.forget(g.id);
        }
      }
      const t1 = Date.now();
      if (sums.length === 0) {
        await this.abort(em, round, 'no group could be unmasked');
        return { aborted: true as const, round };
      }
      const base = await this.models.get(bounty.id, round.modelVersion);
      const { weights, state } = applyStrategy(
        bounty.spec,
        this.models.weightsOf(base),
        sums.map((x) => ({ delta: x.mean, weight: x.weight })),
        base.optimizerState,
      );
      const published = await this.models.publish(
        em,
        bounty,
        round.modelVersion + 1,
        weights,
        state,
      );
      const now = Date.now();
      await em.update(
        Round,
        { id: roundId },
        {
          state: 'aggregated',
          ledgerRound:
            (await em.count(Round, {
              where: { bountyId: bounty.id, ledgerRound: Not(IsNull()) },
            })) + 1,
          stageDeadline: null,
          timing: {
            ...round.timing,
            unmaskClosed: t0,
            unmasked: t1,
            aggregated: now,
            published: now,
          },
        },
      );
      return { aborted: false as const, round, published };
    });
    if (!result) return;
    if (result.aborted) {
      this.afterAbort(result.round);
      return;
    }
    const { round, published } = result;
    this.log.log(
      `bounty ${round.bountyId} round ${round.number} aggregated -> model v${published.version}`,
    );
    void this.notifyRoundEnd(roundId, 'aggregated');
    // Scoring and settlement run behind the next round; the next round opens now.
    await this.queue.add('score', { roundId }, `score-${roundId}`);
    this.scheduleOpen(round.bountyId, 0);
  }

  // ---------------------------------------------------------------- resume and status

  /** Re-sends an agent its active round and, if it has not answered yet, the open stage's message. */
  async resume(addressIn: string, bountyId: number): Promise<void> {
    const address = getAddress(addressIn);
    const round = await this.ds
      .getRepository(Round)
      .findOne({ where: { bountyId }, order: { number: 'DESC' } });
    if (!round || !ACTIVE.has(round.state)) return;
    const p = await this.ds.getRepository(Participant).findOneBy({ roundId: round.id, address });
    if (!p || p.progress === 'dropped') return;
    const bounty = await this.ds.getRepository(Bounty).findOneByOrFail({ id: bountyId });
    const g = await this.ds.getRepository(RoundGroup).findOneByOrFail({ id: p.groupId });
    if (g.state !== 'active') return;
    const deadline = round.stageDeadline?.getTime() ?? Date.now();
    this.hub.toAgent(address, 'round', this.roundStart(bounty, round, g, address, deadline));
    const stage = round.state as AgentStage;
    if (stage === 'keys' || p.progress !== PREV[stage] || this.plaintext(bounty.spec)) return;
    const { last } = await this.sessions.upTo(this.ds.manager, round, g, bounty.spec, stage, {
      receive: false,
    });
    const payload = last?.get(address);
    if (payload !== undefined) {
      this.hub.toAgent(address, 'stage', {
        roundId: round.id,
        stage,
        payload: encodeFrame(payload),
        deadline,
      });
    }
  }

  async status(addressIn: string) {
    const address = getAddress(addressIn);
    const rows = (await this.ds.query(
      `SELECT r.bounty_id AS "bountyId", r.number AS round, r.state, p.progress, p.samples, p.score, p.reward::text AS reward
         FROM participant p JOIN round r ON r.id = p.round_id
        WHERE p.address = $1 ORDER BY r.bounty_id, r.number`,
      [address],
    )) as { reward: string | null }[];
    const earned = rows.reduce((a, r) => a + BigInt(r.reward ?? '0'), 0n);
    return { address, rounds: rows, earned: earned.toString() };
  }
}
