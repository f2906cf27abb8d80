/** Connects the server to the Tributary contracts, or starts a dev chain with them deployed. */
import { Logger } from '@nestjs/common';
import { Wallet, type JsonRpcProvider } from 'ethers';
import {
  attachTributary,
  deployTributary,
  startDevChain,
  type TributaryAddresses,
} from '../../contracts/index.js';
import type { Chain } from './chain.service.js';

export function attachChain(
  provider: JsonRpcProvider,
  chainId: number,
  coordinator: Wallet,
  addresses: Record<string, string>,
): Chain {
  const a = addresses as unknown as TributaryAddresses;
  if (!a.token || !a.bounties || !a.registry) {
    throw new Error('CONTRACT_ADDRESSES needs { token, bounties, registry }');
  }
  return {
    chainId,
    provider,
    coordinator,
    contracts: attachTributary(a, coordinator),
    addresses: a,
  };
}

/** Deploys fresh contracts with the coordinator's key (a new chain with no CONTRACT_ADDRESSES). */
export async function deployChain(
  provider: JsonRpcProvider,
  chainId: number,
  coordinator: Wallet,
): Promise<Chain> {
  const deployed = await deployTributary(coordinator);
  new Logger('Chain').log(`deployed contracts ${JSON.stringify(deployed.addresses)}`);
  return attachChain(provider, chainId, coordinator, { ...deployed.addresses });
}

/** anvil on a free port, contracts deployed by its first key, which is also the coordinator. */
export async function startLocalChain(accounts = 10): Promise<Chain> {
  const dev = await startDevChain({ accounts });
  try {
    const coordinator = new Wallet(dev.keys[0]!, dev.provider);
    const deployed = await deployTributary(coordinator);
    const { chainId } = await dev.provider.getNetwork();
    new Logger('Chain').log(
      `dev chain at ${dev.url}, contracts ${JSON.stringify(deployed.addresses)}`,
    );
    return {
      chainId: Number(chainId),
      provider: dev.provider,
      coordinator,
      contracts: attachTributary(deployed.addresses, coordinator),
      addresses: deployed.addresses,
      keys: dev.keys,
      url: dev.url,
      stop: () => dev.stop(),
    };
  } catch (err) {
    await dev.stop();
    throw err;
  }
}
