import { type DynamicModule, Module } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { DataSource as DataSourceToken } from 'typeorm';
import { RateLimiter } from './abuse/rate-limits.js';
import { EdgeRedis } from './abuse/redis.js';
import { AgentKeys } from './auth/agent-keys.js';
import { AuthController } from './auth/auth.controller.js';
import { AuthService } from './auth/auth.service.js';
import { BountiesController } from './bounties/bounties.controller.js';
import { BountiesService } from './bounties/bounties.service.js';
import { ChainController } from './chain/chain.controller.js';
import { ChainService, type Chain } from './chain/chain.service.js';
import type { ServerConfig } from './config.js';
import { AgentGateway } from './gateway/agent.gateway.js';
import { Hub } from './gateway/hub.js';
import { ModelsController } from './models/models.controller.js';
import { ModelsService } from './models/models.service.js';
import { QueueService } from './queue/queue.service.js';
import { RecoveryService } from './rounds/recovery.js';
import { RoundsService } from './rounds/rounds.service.js';
import { SettlementService } from './rounds/settlement.service.js';
import { CHAIN_ID, CONFIG } from './tokens.js';
import { WebModule } from './web/web.module.js';

/**
 * The aggregator. Infrastructure (data source, chain connection) is created before the module so
 * that the embedded defaults and migrations finish before any service starts.
 */
@Module({})
export class AppModule {
  static forRoot(config: ServerConfig, ds: DataSource, chain: Chain): DynamicModule {
    return {
      module: AppModule,
      imports: [WebModule.forRoot(ds)],
      controllers: [AuthController, BountiesController, ModelsController, ChainController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: DataSourceToken, useValue: ds },
        { provide: CHAIN_ID, useValue: chain.chainId },
        { provide: ChainService, useFactory: () => new ChainService(chain) },
        EdgeRedis,
        RateLimiter,
        AuthService,
        AgentKeys,
        Hub,
        QueueService,
        ModelsService,
        RoundsService,
        SettlementService,
        RecoveryService,
        BountiesService,
        AgentGateway,
      ],
    };
  }
}
