/**
 * The server's view of the chain: an ethers v6 provider, the coordinator's wallet (records rounds)
 * and the deployed Tributary contracts. Built from configuration, or from a dev chain (anvil)
 * started by `contracts/` when no CHAIN_RPC_URL is set.
 */
import { Injectable } from '@nestjs/common';
import type { JsonRpcProvider, Wallet } from 'ethers';

export interface Chain {
  chainId: number;
  provider: JsonRpcProvider;
  coordinator: Wallet;
  /** Contract handles from `contracts/` (attachTributary). */
  contracts: Record<string, unknown>;
  addresses: Record<string, string>;
  stop?: () => Promise<void>;
}

@Injectable()
export class ChainService {
  constructor(readonly chain: Chain) {}

  get provider(): JsonRpcProvider {
    return this.chain.provider;
  }

  get coordinator(): Wallet {
    return this.chain.coordinator;
  }
}
