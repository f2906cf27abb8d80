/**
 * Gas benchmark of the contracts on a fresh anvil (prague rules), through the same typed helpers
 * the server uses. Figures are gas units from transaction receipts (21 000 base and calldata
 * included), so they are deterministic up to the random addresses and commitments.
 *
 * - gas_per_contribution_N: gas of recording one round with N contributors / N. The ledger logs
 *   one event per contribution and stores one Merkle root per round (target <= 8000 at N = 100;
 *   a transaction per contribution would cost > 21 000 before any work).
 * - gas_record_round_N: the whole recording transaction.
 * - gas_claim: a contributor's first claim of one reward from a 100-contributor round (Merkle
 *   proof of 7 hashes, fresh claim-bitmap word, first token balance of the recipient).
 * - gas_claim_warm: the same for a second contributor of that round (bitmap word already set).
 * - gas_claim_3_rounds: one claim of three rewards from three rounds.
 * - gas_claim_licence: a contributor claims its licence with one rewarded leaf of the
 *   100-contributor round (proof of 7 hashes, one fresh storage slot).
 * - gas_claim_revenue: a contributor's first revenue claim (one leaf), which also grants it the
 *   licence; gas_claim_revenue_licensed: the same for a contributor that holds one already.
 * - gas_create_bounty, gas_join, gas_buy_licence, gas_publish_version, gas_rate, gas_refund:
 *   one call each.
 */
import {
  Wallet,
  id as keccakText,
  keccak256,
  toBeHex,
  type ContractTransactionReceipt,
} from 'ethers';
import {
  LicenceKind,
  deployTributary,
  leavesFor,
  startDevChain,
  type RoundContribution,
} from '../../contracts/index.js';
import type { BenchOptions, BenchResult } from './run.js';

const E18 = 10n ** 18n;

function gas(r: ContractTransactionReceipt | null): number {
  if (!r) throw new Error('no receipt');
  return Number(r.gasUsed);
}

export async function run({ quick }: BenchOptions): Promise<BenchResult> {
  const sizes = quick ? [10, 100] : [10, 100, 500];
  const largest = Math.max(...sizes);
  const chain = await startDevChain({ accounts: 4 });
  try {
    const [sponsor, coordinator, buyer] = chain.keys.map((k) => new Wallet(k, chain.provider)) as [
      Wallet,
      Wallet,
      Wallet,
    ];
    const { token, bounties, registry } = await deployTributary(sponsor);
    const result: BenchResult = {};

    // A bounty with one round per batch size, plus one spare so it is not settled early.
    const rounds = sizes.length + 1;
    const budget = BigInt(rounds) * 1_000_000n * E18;
    await token.approve(bounties.address, budget);
    const now = (await chain.provider.getBlock('latest'))!.timestamp;
    const params = {
      token: token.address,
      budget,
      rounds,
      minParticipants: 3,
      minStake: 0n,
      deadline: BigInt(now + 86_400),
      coordinator: coordinator.address,
      modelSpecHash: keccakText('model spec'),
      validationSetHash: keccakText('validation set'),
    };
    const { bountyId, receipt: created } = await bounties.createBounty(params);
    result.gas_create_bounty = gas(created);

    // Contributors: deterministic keys, funded for gas, joined with a zero stake.
    const people = Array.from(
      { length: largest },
      (_, i) => new Wallet(keccak256(toBeHex(i + 1, 32)), chain.provider),
    );
    for (let i = 0; i < people.length; i += 50) {
      const slice = people.slice(i, i + 50);
      await Promise.all(
        slice.map((p) => chain.provider.send('anvil_setBalance', [p.address, toBeHex(E18)])),
      );
      const receipts = await Promise.all(slice.map((p) => bounties.connect(p).join(bountyId, 0n)));
      if (i === 0) result.gas_join = gas(receipts[0]!);
    }

    const batches = new Map<number, RoundContribution[]>();
    for (const [r, n] of sizes.entries()) {
      const roundBudget = 1_000_000n * E18;
      const batch = people.slice(0, n).map((p, i) => ({
        account: p.address,
        commitment: keccak256(toBeHex((r + 1) * 1_000_000 + i, 32)),
        score: (E18 / 7n) * BigInt(1 + (i % 5)),
        reward: roundBudget / BigInt(n) - BigInt(i),
      }));
      const { receipt } = await bounties
        .connect(coordinator)
        .recordRound(bountyId, r + 1, keccakText(`model ${r}`), batch);
      batches.set(n, batch);
      result[`gas_record_round_${n}`] = gas(receipt);
      result[`gas_per_contribution_${n}`] = Math.round(gas(receipt) / n);
    }

    // Claims from the 100-contributor round (round 2).
    const recorded = await bounties.recordedRounds(bountyId);
    const round100 = recorded.filter((r) => r.contributions.length === 100);
    const [first] = leavesFor(round100, people[0]!.address);
    result.gas_claim = gas((await bounties.claim(bountyId, [first!])).receipt);
    const [second] = leavesFor(round100, people[1]!.address);
    result.gas_claim_warm = gas((await bounties.claim(bountyId, [second!])).receipt);
    result.claim_proof_length = first!.proof.length;
    const three = leavesFor(recorded, people[2]!.address);
    result.gas_claim_3_rounds = gas((await bounties.claim(bountyId, three.slice(0, 3))).receipt);
    if (three.length < 3) result.gas_claim_3_rounds = null;

    // Registry: publish, settle (last round), licence, revenue, rating.
    result.gas_publish_version = gas(
      await registry
        .connect(coordinator)
        .publishVersion(bountyId, 1, keccakText('weights'), 'ipfs://bafy-model-v1'),
    );
    const last = people.slice(0, 3).map((p, i) => ({
      account: p.address,
      commitment: keccakText(`last ${i}`),
      score: 1n,
      reward: 1n,
    }));
    await bounties.connect(coordinator).recordRound(bountyId, rounds, keccakText('last'), last);
    await registry.setLicenceTerms(bountyId, LicenceKind.Paid, token.address, 100n * E18);
    await token.transfer(buyer.address, 100n * E18);
    await token.connect(buyer).approve(registry.address, 100n * E18);
    result.gas_buy_licence = gas((await registry.connect(buyer).buyLicence(bountyId)).receipt);
    const [licenceLeaf] = leavesFor(round100, people[4]!.address);
    result.gas_claim_licence = gas(await registry.claimContributorLicence(bountyId, licenceLeaf!));
    const revenue = async (who: Wallet) =>
      gas(
        (await registry.claimRevenue(bountyId, token.address, leavesFor(round100, who.address)))
          .receipt,
      );
    result.gas_claim_revenue = await revenue(people[3]!);
    result.gas_claim_revenue_licensed = await revenue(people[4]!);
    result.gas_rate = gas(await registry.connect(buyer).rate(bountyId, 1, 5));
    result.gas_refund = gas(await bounties.refund(bountyId));
    result.naive_tx_floor = 21_000;
    return result;
  } finally {
    await chain.stop();
  }
}
