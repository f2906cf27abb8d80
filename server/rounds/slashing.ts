/**
 * Slashing strongly negative contributions from stake, when the bounty's last round settles.
 *
 * A sponsor who opts in names `slashBelow` in the spec (a negative score in the utility's units,
 * part of the spec hash, so every participant knows it before staking). The last round's recorded
 * scores are each participant's least-squares estimate over all rounds (scoreRound), the figure
 * that separates a member from the company it kept; an early round's estimate does not (its
 * group-mates share its value), so earlier rounds are never slashed. Every contribution of the
 * last round scored below the threshold loses its whole remaining stake (`Bounties.slash`, once
 * per contribution; the slashed tokens return to the bounty's unallocated funds). Idempotent: a
 * contribution already slashed, or an account with nothing staked, is skipped.
 */
import { toFixedScore } from '../../aggregation/index.js';
import type { ContributionLeaf, RoundContribution } from '../../contracts/index.js';
import type { ChainService } from '../chain/chain.service.js';

export interface SlashReceipt {
  account: string;
  index: number;
  amount: bigint;
  receipt: { hash: string; blockNumber: number; gasUsed: bigint };
}

export async function slashBelow(
  chain: ChainService,
  bountyId: bigint,
  ledgerRound: number,
  contributions: readonly RoundContribution[],
  threshold: number,
): Promise<SlashReceipt[]> {
  const below = toFixedScore(threshold);
  const out: SlashReceipt[] = [];
  for (const [index, c] of contributions.entries()) {
    if (c.score >= below || c.score >= 0n) continue;
    if (await chain.bounties.isSlashed(bountyId, ledgerRound, index)) continue;
    const { amount } = await chain.bounties.stakeOf(bountyId, c.account);
    if (amount === 0n) continue;
    const leaf: ContributionLeaf | undefined = (
      await chain.bounties.leavesOf(bountyId, c.account)
    ).find((l) => Number(l.round) === ledgerRound && l.index === index);
    if (!leaf) throw new Error(`no recorded leaf ${ledgerRound}/${index} of ${c.account}`);
    const receipt = await chain.bounties.slash(bountyId, leaf, amount);
    out.push({ account: c.account, index, amount, receipt });
  }
  return out;
}
