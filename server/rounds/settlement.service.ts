import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { QueueService } from '../queue/queue.service.js';

/** Scoring and on-chain settlement, which run behind the next round. */
@Injectable()
export class SettlementService implements OnModuleInit {
  private readonly log = new Logger('Settlement');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(QueueService) private readonly queue: QueueService,
  ) {}

  onModuleInit(): void {
    this.queue.register('score', async () => undefined);
    this.queue.register('settle', async () => undefined);
  }
}
