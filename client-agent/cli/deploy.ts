/**
 * `tributary deploy`: deploys RewardToken, Bounties and ModelRegistry to a chain and writes the
 * deployment file the other commands read (`--deployment` / TRIBUTARY_DEPLOYMENT).
 */
import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { getAddress, isAddress } from 'ethers';
import { deployTributary, makeProvider } from '../../contracts/index.js';
import { probeChain, serverUrl, type Deployment, type GlobalOptions } from './context.js';
import { fail } from './errors.js';
import { fields, toJson, type Io } from './io.js';
import { requireWallet } from './wallet.js';

export function deployCommand(io: Io): Command {
  return new Command('deploy')
    .requiredOption('--out <file>', 'deployment file to write')
    .option(
      '--coordinator <address>',
      "the aggregator's settlement account, stored as the default for bounty create",
    )
    .action(async (o: { out: string; coordinator?: string }, c: Command) => {
      const g = c.optsWithGlobals() as GlobalOptions;
      const rpc =
        g.rpc ??
        io.env['CHAIN_RPC_URL'] ??
        fail('NO_DEPLOYMENT', 'deploy needs --rpc <url> or CHAIN_RPC_URL');
      if (o.coordinator !== undefined && !isAddress(o.coordinator))
        fail('BAD_ARGUMENT', `--coordinator is not an address: ${o.coordinator}`);
      if ((await probeChain(rpc)) === undefined) {
        fail('CHAIN_UNREACHABLE', `the chain RPC endpoint ${rpc} does not answer`);
      }
      const provider = makeProvider(rpc);
      try {
        const deployer = await requireWallet(g, io, provider, 'deploying sends transactions');
        const block = await provider.getBlockNumber();
        const { addresses } = await deployTributary(deployer);
        const chainId = Number((await provider.getNetwork()).chainId);
        const dep: Deployment = {
          rpcUrl: rpc,
          chainId,
          contracts: addresses,
          server: serverUrl(g, io),
          coordinator: o.coordinator ? getAddress(o.coordinator) : undefined,
          fromBlock: block,
        };
        await writeFile(o.out, toJson(dep) + '\n');
        if (g.json) io.stdout(toJson(dep) + '\n');
        else
          io.stdout(
            fields([
              ['chain id', chainId],
              ['token', addresses.token],
              ['bounties', addresses.bounties],
              ['registry', addresses.registry],
              ['written to', o.out],
            ]),
          );
      } finally {
        provider.destroy();
      }
    });
}
