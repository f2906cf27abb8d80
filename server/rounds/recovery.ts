/**
 * Postgres is the source of truth; the queue only holds what is due next. A process killed
 * between a commit and its enqueue, a Redis that restarted empty (BullMQ's delayed stage closes
 * live only there) or a job whose attempts ran out during an outage would leave a round waiting
 * forever. So every worker instance, at start and every `sweepMs`, derives from Postgres the job
 * each unfinished round needs and makes sure it exists (QueueService.ensure, deterministic ids):
 *   - an agent stage: its close, at the stage's deadline, or now if nobody owes an answer;
 *   - aggregated: `score`; scored: `settle`;
 *   - an open bounty with no round running and an agent connected to this instance: `open-round`
 *     (it opens only with enough agents online on all instances).
 * Every job checks the round's state under its lock, so one ensured twice does nothing twice.
 * It runs on every instance, those with no worker lane too (they enqueue, others work the jobs).
 */
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ServerConfig } from '../config.js';
import type { AgentStage } from '../db/entities.js';
import { Hub } from '../gateway/hub.js';
import { QueueService } from '../queue/queue.service.js';
import { CONFIG } from '../tokens.js';
import { RoundsService } from './rounds.service.js';
import { ACTIVE_STATES, AGENT_STAGES_SQL, OWED_PROGRESS_SQL } from './stages.js';

const ACTIVE_SQL = [...ACTIVE_STATES].map((s) => `'${s}'`).join(', ');

@Injectable()
export class RecoveryService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('Recovery');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(CONFIG) private readonly config: ServerConfig,
    @Inject(QueueService) private readonly queue: QueueService,
    @Inject(RoundsService) private readonly rounds: RoundsService,
    @Inject(Hub) private readonly hub: Hub,
  ) {}

  onApplicationBootstrap(): void {
    const tick = () => {
      this.running ??= this.sweep()
        .then(() => undefined)
        .catch((err: unknown) => this.log.warn(`sweep failed: ${(err as Error).message}`))
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.config.sweepMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; returns how many jobs it had to add or promote. */
  async sweep(): Promise<number> {
    const now = Date.now();
    let fixed = 0;
    const note = (what: string, r: 'added' | 'promoted' | 'present') => {
      if (r === 'present') return;
      fixed++;
      this.log.warn(`${what}: job ${r}`);
    };
    const staged = (await this.ds.query(
      `SELECT r.id, r.state, r.stage_deadline AS deadline,
              NOT EXISTS (SELECT 1 FROM participant p
                           WHERE p.round_id = r.id AND p.progress = ${OWED_PROGRESS_SQL}) AS answered
         FROM round r WHERE r.state IN (${AGENT_STAGES_SQL})`,
    )) as { id: number; state: AgentStage; deadline: Date | null; answered: boolean }[];
    for (const r of staged) {
      const due = r.answered ? 0 : Math.max(0, (r.deadline?.getTime() ?? now) - now);
      note(
        `round ${r.id} ${r.state}`,
        await this.queue.ensure(
          'close-stage',
          { roundId: r.id, stage: r.state },
          `close-${r.id}-${r.state}`,
          due,
        ),
      );
    }
    const behind = (await this.ds.query(
      `SELECT id, state FROM round WHERE state IN ('aggregated', 'scored')`,
    )) as { id: number; state: 'aggregated' | 'scored' }[];
    for (const r of behind) {
      const name = r.state === 'aggregated' ? 'score' : 'settle';
      note(
        `round ${r.id} ${r.state}`,
        await this.queue.ensure(name, { roundId: r.id }, `${name}-${r.id}`),
      );
    }
    const idle = (await this.ds.query(
      `SELECT b.id FROM bounty b WHERE b.status = 'open'
          AND NOT EXISTS (SELECT 1 FROM round r WHERE r.bounty_id = b.id AND r.state IN (${ACTIVE_SQL}))`,
    )) as { id: number }[];
    // Only where agents of the bounty are connected: a bounty waiting for agents costs nothing.
    for (const b of idle) if (this.hub.hasLocal(b.id)) this.rounds.scheduleOpen(b.id, 0);
    return fixed;
  }
}
