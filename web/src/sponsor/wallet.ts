/**
 * Who signs: an injected EIP-1193 wallet (window.ethereum, through ethers' BrowserProvider), or on
 * the dev chain one of anvil's well-known development keys. Those keys are public (anvil derives
 * them from the mnemonic "test test … junk"), so they are offered only when GET /chain names chain
 * id 31337 and never for any other chain.
 */
import {
  BrowserProvider,
  JsonRpcProvider,
  Wallet,
  type Eip1193Provider,
  type Signer,
} from 'ethers';
import { attachTributary, type TributaryContracts } from '../../../contracts/tributary.js';
import type { ChainInfo } from '../api.js';
import { ActionError } from './errors.js';

export const DEV_CHAIN_ID = 31337;

/** anvil's default accounts 0..9; account 0 deploys the contracts and holds the token supply. */
export const DEV_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
  '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
  '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
  '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
  '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
  '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6',
] as const;

export interface Session {
  kind: 'injected' | 'dev';
  /** Dev key index, for kind 'dev'. */
  index?: number;
  address: string;
  signer: Signer;
  chain: ChainInfo;
  contracts: TributaryContracts;
}

declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
}

export const hasInjectedWallet = (): boolean => typeof window.ethereum?.request === 'function';

export function devProvider(chain: ChainInfo): JsonRpcProvider {
  // As the CLI does against anvil: no chain-id polling, no result cache (else the second
  // transaction reuses a nonce), one request per call.
  return new JsonRpcProvider(chain.rpcUrl, chain.chainId, {
    staticNetwork: true,
    cacheTimeout: -1,
    batchMaxCount: 1,
  });
}

export function devWallet(chain: ChainInfo, index: number): Wallet {
  if (chain.chainId !== DEV_CHAIN_ID)
    throw new ActionError(
      'NOT_DEV_CHAIN',
      `development keys are for chain ${DEV_CHAIN_ID} only; this aggregator names chain ${chain.chainId}`,
    );
  const key = DEV_KEYS[index];
  if (!key) throw new ActionError('BAD_ARGUMENT', `there is no development key #${index}`);
  return new Wallet(key, devProvider(chain));
}

export function connectDev(chain: ChainInfo, index: number): Session {
  const signer = devWallet(chain, index);
  return {
    kind: 'dev',
    index,
    address: signer.address,
    signer,
    chain,
    contracts: attachTributary(chain.contracts, signer),
  };
}

export async function connectInjected(chain: ChainInfo): Promise<Session> {
  if (!window.ethereum)
    throw new ActionError('NO_WALLET', 'no browser wallet (window.ethereum) found');
  const provider = new BrowserProvider(window.ethereum);
  const signer = await provider.getSigner();
  const { chainId } = await provider.getNetwork();
  if (Number(chainId) !== chain.chainId)
    throw new ActionError(
      'WRONG_CHAIN',
      `the wallet is on chain ${chainId}; switch it to chain ${chain.chainId}, the one this aggregator records on`,
    );
  return {
    kind: 'injected',
    address: await signer.getAddress(),
    signer,
    chain,
    contracts: attachTributary(chain.contracts, signer),
  };
}
