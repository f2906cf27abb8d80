/**
 * The round pipeline on BullMQ. One queue per deployment (prefix from configuration); jobs are
 * named by what they do and carry only ids, because every step reads its state from Postgres.
 * Job ids are deterministic (e.g. `close:42:keys`), so enqueueing twice is a no-op and a retried
 * job finds its work already done.
 */
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { CONFIG } from '../tokens.js';
import type { ServerConfig } from '../config.js';
import { isConnectionError, watchRedis } from './redis-health.js';

export type JobName =
  'open-round' | 'close-stage' | 'aggregate' | 'check-dropout' | 'score' | 'settle';
export type Handler = (data: Record<string, unknown>, job: Job) => Promise<void>;

export const QUEUE_NAME = 'rounds';

@Injectable()
export class QueueService implements OnModuleDestroy {
  private readonly log = new Logger('Queue');
  private readonly connection: Redis;
  readonly queue: Queue;
  private readonly workers: Worker[] = [];
  private readonly workerConnections: Redis[] = [];
  private readonly handlers = new Map<JobName, Handler>();

  constructor(@Inject(CONFIG) private readonly config: ServerConfig) {
    this.connection = watchRedis(
      new Redis(config.redisUrl!, { maxRetriesPerRequest: null }),
      this.log,
      'queue',
    );
    this.queue = new Queue(QUEUE_NAME, {
      connection: this.connection,
      prefix: config.redisPrefix,
      defaultJobOptions: {
        attempts: 5,
        backoff: { type: 'exponential', delay: 200 },
        removeOnComplete: true,
        removeOnFail: 1000,
      },
    });
    this.queue.on('error', (err) => this.fault(err));
  }

  private fault(err: Error): void {
    // Connection errors are reported once by watchRedis; anything else is a queue fault.
    if (!isConnectionError(err)) this.log.error(err.message);
  }

  register(name: JobName, handler: Handler): void {
    this.handlers.set(name, handler);
  }

  /** Starts the workers: a fast lane for round-critical jobs and a slow lane for scoring/settling. */
  start(): void {
    const lanes = this.config.lanes;
    if (lanes === 'none' || this.workers.length) return;
    const make = (lanes: JobName[], concurrency: number, queueName: string): Worker => {
      const connection = watchRedis(
        new Redis(this.config.redisUrl!, { maxRetriesPerRequest: null }),
        this.log,
        `worker ${lanes.join(',')}`,
      );
      this.workerConnections.push(connection);
      const w = new Worker(
        queueName,
        async (job) => {
          const h = this.handlers.get(job.name as JobName);
          if (!h || !lanes.includes(job.name as JobName))
            throw new Error(`no handler for ${job.name}`);
          await h(job.data as Record<string, unknown>, job);
        },
        {
          connection,
          prefix: this.config.redisPrefix,
          concurrency,
          // A job whose worker died (SIGKILL, lost host) is taken up again once its lock lapses.
          lockDuration: this.config.jobLockMs,
          stalledInterval: this.config.jobLockMs,
        },
      );
      w.on('failed', (job, err) => {
        this.log.warn(
          `${job?.name} ${job?.id} failed (attempt ${job?.attemptsMade}): ${err.message}`,
        );
      });
      w.on('error', (err) => this.fault(err));
      return w;
    };
    if (lanes === 'all' || lanes === 'rounds') {
      this.workers.push(
        make(['open-round', 'close-stage', 'aggregate', 'check-dropout'], 4, QUEUE_NAME),
      );
    }
    if (lanes === 'all' || lanes === 'settlement') {
      this.workers.push(make(['score', 'settle'], 1, SLOW_QUEUE));
    }
  }

  private slowQueue?: Queue;
  private queueFor(name: JobName): Queue {
    if (name === 'score' || name === 'settle') {
      this.slowQueue ??= new Queue(SLOW_QUEUE, {
        connection: this.connection,
        prefix: this.config.redisPrefix,
        defaultJobOptions: {
          attempts: 8,
          backoff: { type: 'exponential', delay: 500 },
          removeOnComplete: true,
          removeOnFail: 1000,
        },
      });
      this.slowQueue.on('error', (err) => this.fault(err));
      return this.slowQueue;
    }
    return this.queue;
  }

  async add(
    name: JobName,
    data: Record<string, unknown>,
    jobId: string,
    opts: JobsOptions = {},
  ): Promise<void> {
    await this.queueFor(name).add(name, data, { jobId, ...opts });
  }

  /**
   * Makes sure the job that Postgres says is due exists: added when missing (Redis lost it, or the
   * process died between its commit and the enqueue), added again when it failed for good (its
   * attempts ran out during an outage), promoted when it is delayed but due now (`delayMs` 0). A waiting or
   * running job is left alone. Returns what it did.
   */
  async ensure(
    name: JobName,
    data: Record<string, unknown>,
    jobId: string,
    delayMs = 0,
  ): Promise<'added' | 'promoted' | 'present'> {
    const q = this.queueFor(name);
    const job = await q.getJob(jobId);
    if (job) {
      const state = await job.getState();
      if (state === 'delayed') {
        // A retry waiting out its backoff keeps it (an outage is not over because it is due).
        if (delayMs > 0 || job.attemptsMade > 0) return 'present';
        await job.promote().catch(() => undefined); // raced with its timer
        return 'promoted';
      }
      if (state !== 'failed' && state !== 'completed' && state !== 'unknown') return 'present';
      await job.remove().catch(() => undefined);
    }
    await q.add(name, data, { jobId, ...(delayMs > 0 ? { delay: delayMs } : {}) });
    return 'added';
  }

  /** Moves a delayed job forward (a stage that everyone answered closes now). */
  async promote(name: JobName, jobId: string): Promise<boolean> {
    const job = await this.queueFor(name).getJob(jobId);
    if (!job) return false;
    try {
      if (await job.isDelayed()) {
        await job.promote();
        return true;
      }
    } catch {
      // raced with the timer: the job is already running
    }
    return false;
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await this.queue.close();
    await this.slowQueue?.close();
    for (const c of this.workerConnections) c.disconnect();
    this.connection.disconnect();
  }
}

export const SLOW_QUEUE = 'settlement';
