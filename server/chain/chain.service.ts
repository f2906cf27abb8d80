/**
 * The server's view of the chain: an ethers v6 provider, the coordinator's wallet (records rounds,
 * publishes model versions) and the Tributary contracts of `contracts/`. Built from configuration,
 * or from a dev chain (anvil) with freshly deployed contracts when no CHAIN_RPC_URL is set.
 */
import { Injectable } from '@nestjs/common';
import type { JsonRpcProvider, Wallet } from 'ethers';
import type { TributaryAddresses, TributaryContracts } from '../../contracts/index.js';

export interface Chain {
  chainId: number;
  provider: JsonRpcProvider;
  coordinator: Wallet;
  /** Contract handles connected to the coordinator's wallet. */
  contracts: TributaryContracts;
  addresses: TributaryAddresses;
  /** Dev chain only: funded keys (the first is the coordinator's). */
  keys?: string[];
  url?: string;
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

  get bounties() {
    return this.chain.contracts.bounties;
  }

  get registry() {
    return this.chain.contracts.registry;
  }
}
