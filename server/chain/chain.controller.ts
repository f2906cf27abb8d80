import { Controller, Get, Inject } from '@nestjs/common';
import { CONFIG } from '../tokens.js';
import type { ServerConfig } from '../config.js';
import { ChainService } from './chain.service.js';

/** The chain this aggregator settles on, so agents and the CLI need only the server's URL. */
@Controller('chain')
export class ChainController {
  constructor(
    @Inject(ChainService) private readonly chain: ChainService,
    @Inject(CONFIG) private readonly config: ServerConfig,
  ) {}

  @Get()
  show() {
    const c = this.chain.chain;
    return {
      chainId: c.chainId,
      rpcUrl: this.config.publicRpcUrl ?? this.config.chainRpcUrl ?? c.url,
      contracts: c.addresses,
      coordinator: c.coordinator.address,
    };
  }
}
