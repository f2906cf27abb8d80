/**
 * The round state machine: open -> keys -> shares -> masked -> confirm -> unmask -> aggregated
 * -> scored -> settled, or aborted with a reason. Every transition is a row update under the
 * round's lock; agents' messages are stored before they are acknowledged; stage deadlines are
 * delayed BullMQ jobs that a stage everyone answered promotes. Nothing here lives only in memory.
 *
 * A message's path: inbox.ts (checks, storage) -> a stage's close here (group-session.ts runs
 * the SecAgg server per group) -> fan-out.ts (what each member gets next); opener.ts opens a
 * round, dropouts.ts marks who left, group-sum.ts closes a group, settlement.service.ts pays.
 */
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { getAddress } from 'ethers';
import { DataSource, IsNull, Not, type EntityManager } from 'typeorm';
import { AggregationError, encodeFrame } from '../../aggregation/index.js';
import type { ServerConfig } from '../config.js';
import {
  Bounty,
  BountyMember,
  Participant,
  Round,
  RoundGroup,
  type AgentStage,
} from '../db/entities.js';
import { ProtocolError } from '../errors.js';
import { AgentKeys } from '../auth/agent-keys.js';
import { Hub } from '../gateway/hub.js';
import { paramCount } from '../models/artifact.js';
import { ModelsService } from '../models/models.service.js';
import { QueueService } from '../queue/queue.service.js';
import { CONFIG } from '../tokens.js';
import { dropOwing, waitingFor } from './dropouts.js';
import { sendRoundEnd, sendRoundStarts, sendStage } from './fan-out.js';
import { storeGroupSum } from './group-sum.js';
import { checkHeader, notOpenFor, RoundPlaces, stagePayload, storeIfOpen } from './inbox.js';
import { createRound, quantOf, roundStart } from './opener.js';
import { applyStrategy } from './strategy.js';
import { ACTIVE_STATES, NEXT, PREV, STAGE_SCHEMA } from './stages.js';
import { closeStage, GroupSessions, type Outgoing } from './group-session.js';

export { DEFAULT_MAX_WEIGHT, quantOf } from './opener.js';

export interface StageEnvelope {
  roundId: number;
  stage: AgentStage;
  message: unknown;
  samples?: number;
}

@Injectable()
export class RoundsService implements OnModuleInit {
  private readonly log = new Logger('Rounds');
  readonly sessions = new GroupSessions();
  private readonly places = new RoundPlaces();

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
    const opened = await this.ds.transaction((em) =>
      createRound(em, bountyId, {
        online: (id) => this.hub.connected(id),
        latestVersion: async (id, m) => (await this.models.latest(id, m))?.version,
        stageMs: (stage) => this.stageMs(stage),
        plaintext: (spec) => this.plaintext(spec),
      }),
    );
    if (!opened) return;
    const { round, groups, bounty, first } = opened;
    this.log.log(
      `bounty ${bountyId} round ${round.number}: ${groups.map((g) => g.members.length).join('+')} agents`,
    );
    await this.queue.add(
      'close-stage',
      { roundId: round.id, stage: first },
      `close-${round.id}-${first}`,
      { delay: this.stageMs(first) },
    );
    sendRoundStarts(this.hub, opened, this.plaintext(bounty.spec));
  }

  // ---------------------------------------------------------------- stage messages

  async accept(addressIn: string, env: StageEnvelope): Promise<void> {
    const address = getAddress(addressIn);
    const { roundId, stage } = env;
    const parsed = STAGE_SCHEMA[stage].safeParse(env.message);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ProtocolError(
        'BAD_REQUEST',
        `${stage}: ${issue?.path.join('.')} ${issue?.message}`,
      );
    }
    const msg = parsed.data;
    // The sender's place (read once per round), the header, the stage's own checks, then one
    // statement that stores it if the stage is still open for the sender: inbox.ts.
    const sender = await this.places.of(this.ds, roundId, address);
    let p: ReturnType<typeof stagePayload>;
    try {
      checkHeader(sender, address, msg);
      p = stagePayload(stage, msg, sender, env, {
        dim: stage === 'masked' ? await this.dimOf(this.ds.manager, sender.bountyId) : 0,
        keysSigned: (m) => this.agentKeys.keysSigned(sender.bountyId, address, m),
      });
    } catch (err) {
      // A late or repeated message says so first, whatever else is wrong with it.
      if (err instanceof ProtocolError) {
        throw (await notOpenFor(this.ds, roundId, sender, stage, address)) ?? err;
      }
      throw err;
    }
    await storeIfOpen(this.ds, roundId, sender, stage, address, p);
    const { vector } = p;
    const { groupId, bountyId } = sender;
    // Kept in memory too, so the stage's close need not read it back from Postgres.
    if (vector) this.sessions.holdMasked({ id: roundId, bountyId }, groupId, address, vector);
    // Counted after commit: two last answers committing together both see zero (a harmless
    // double close), never neither.
    if ((await waitingFor(this.ds, roundId, stage)) === 0) await this.closeNow(roundId, stage);
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
    for (const r of await dropOwing(this.ds, address)) {
      this.log.warn(`round ${r.roundId}: ${address} dropped in stage ${r.stage}`);
      if ((await waitingFor(this.ds, r.roundId, r.stage)) === 0)
        await this.closeNow(r.roundId, r.stage);
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
    sendStage(this.hub, roundId, result.next, result.out, result.deadline);
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
    void sendRoundEnd(this.ds, this.hub, round.id, 'aborted');
    this.scheduleOpen(round.bountyId, 1000);
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
    // Committed: the round's agents are about to ask for it, all at once.
    this.models.remember(published);
    this.log.log(
      `bounty ${round.bountyId} round ${round.number} aggregated -> model v${published.version}`,
    );
    void sendRoundEnd(this.ds, this.hub, roundId, 'aggregated');
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
    if (!round || !ACTIVE_STATES.has(round.state)) return;
    const p = await this.ds.getRepository(Participant).findOneBy({ roundId: round.id, address });
    if (!p || p.progress === 'dropped') return;
    const bounty = await this.ds.getRepository(Bounty).findOneByOrFail({ id: bountyId });
    const g = await this.ds.getRepository(RoundGroup).findOneByOrFail({ id: p.groupId });
    if (g.state !== 'active') return;
    const deadline = round.stageDeadline?.getTime() ?? Date.now();
    this.hub.toAgent(
      address,
      'round',
      roundStart(bounty, round, g, address, deadline, this.plaintext(bounty.spec)),
    );
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
