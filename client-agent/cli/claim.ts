/**
 * `tributary claim <bounty>`: pays the wallet every reward recorded for it and not yet claimed.
 * The leaves and their Merkle proofs are rebuilt from the chain's `ContributionRecorded` events
 * (each round's root re-checked), so no server is involved.
 */
import { Command } from 'commander';
import { RewardToken } from '../../contracts/index.js';
import { tokenDecimals } from './bounty.js';
import {
  parseBountyId,
  requireBounty,
  showTokens,
  withContext,
  type Context,
  type GlobalOptions,
} from './context.js';
import { table, toJson, type Io } from './io.js';
import { requireWallet } from './wallet.js';

async function claim(ctx: Context, idText: string, dryRun: boolean): Promise<void> {
  const id = parseBountyId(idText);
  const me = await requireWallet(ctx.opts, ctx.io, ctx.provider, 'claiming pays the wallet');
  const b = await requireBounty(ctx, id);
  const decimals = await tokenDecimals(ctx.provider, b.token);
  const bounties = ctx.contracts.bounties.connect(me);
  const leaves = await bounties.unclaimedLeaves(id, me.address, { fromBlock: ctx.fromBlock });
  const total = leaves.reduce((s, l) => s + l.reward, 0n);
  const rows = leaves.map((l) => ({ round: l.round, index: l.index, reward: l.reward }));
  if (leaves.length === 0 || dryRun) {
    if (ctx.json)
      ctx.io.stdout(
        toJson({ bountyId: id, account: me.address, claimable: total, leaves: rows, claimed: 0n }) +
          '\n',
      );
    else if (leaves.length === 0)
      ctx.io.stdout(`nothing to claim for ${me.address} in bounty ${id}\n`);
    else {
      ctx.io.stdout(
        table(
          ['round', 'leaf', 'reward'],
          rows.map((r) => [r.round, r.index, showTokens(r.reward, decimals)]),
        ),
      );
      ctx.io.stdout(`claimable: ${showTokens(total, decimals)} (dry run, nothing sent)\n`);
    }
    return;
  }
  const token = new RewardToken(b.token, ctx.provider);
  const before = await token.balanceOf(me.address);
  const { amount, receipt } = await bounties.claim(id, leaves);
  const after = await token.balanceOf(me.address);
  if (ctx.json) {
    ctx.io.stdout(
      toJson({
        bountyId: id,
        account: me.address,
        claimed: amount,
        leaves: rows,
        tx: receipt.hash,
        balance: after,
      }) + '\n',
    );
    return;
  }
  ctx.io.stdout(
    table(
      ['round', 'leaf', 'reward'],
      rows.map((r) => [r.round, r.index, showTokens(r.reward, decimals)]),
    ),
  );
  ctx.io.stdout(
    `claimed ${showTokens(amount, decimals)} in ${receipt.hash}; balance ${showTokens(before, decimals)} -> ${showTokens(after, decimals)}\n`,
  );
}

export function claimCommand(io: Io): Command {
  return new Command('claim')
    .argument('<bounty>', 'bounty id')
    .option('--dry-run', 'only list what would be claimed')
    .action(async (id: string, o: { dryRun?: boolean }, c: Command) =>
      withContext(c.optsWithGlobals() as GlobalOptions, io, (ctx) =>
        claim(ctx, id, Boolean(o.dryRun)),
      ),
    );
}
