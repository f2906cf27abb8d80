/**
 * A full bounty lifecycle on anvil through the typed helpers, balances checked to the wei:
 * create + fund, join, record 3 rounds, claim, slash, contributors' licences proven with a
 * rewarded leaf, licence purchase with revenue split, rating, refund after the deadline, stake
 * withdrawal.
 */
import { Wallet, id as keccakText, keccak256, toUtf8Bytes } from 'ethers';
import {
  ChainError,
  LicenceKind,
  artifactHash,
  deployTributary,
  roundRoot,
  startDevChain,
  type DevChain,
  type RoundContribution,
  type TributaryContracts,
} from './index.js';

const E18 = 10n ** 18n;

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(ChainError);
  await expect(p).rejects.toMatchObject({ code });
}

describe('bounty lifecycle on anvil', () => {
  let chain: DevChain;
  let c: TributaryContracts;
  let sponsor: Wallet;
  let coordinator: Wallet;
  let people: Wallet[];
  let buyer: Wallet;
  let outsider: Wallet;

  beforeAll(async () => {
    chain = await startDevChain({ accounts: 8 });
    const w = chain.keys.map((k) => new Wallet(k, chain.provider));
    [sponsor, coordinator, , , , , buyer, outsider] = w as [
      Wallet,
      Wallet,
      Wallet,
      Wallet,
      Wallet,
      Wallet,
      Wallet,
      Wallet,
    ];
    people = w.slice(2, 6);
    c = await deployTributary(sponsor);
  });

  afterAll(async () => {
    await chain?.stop();
  });

  it('runs a bounty from funding to refund with exact balances', async () => {
    const { token, bounties, registry } = c;
    const budget = 3000n * E18;
    const stake = 100n * E18;
    for (const p of [...people, buyer]) await token.transfer(p.address, 1000n * E18);
    const sponsorStart = await token.balanceOf(sponsor.address);

    // create + fund
    const now = (await chain.provider.getBlock('latest'))!.timestamp;
    const deadline = BigInt(now + 3600);
    await token.approve(bounties.address, budget);
    const { bountyId } = await bounties.createBounty({
      token: token.address,
      budget,
      rounds: 3,
      minParticipants: 3,
      minStake: stake,
      deadline,
      coordinator: coordinator.address,
      modelSpecHash: keccakText('cnn-fashion-mnist'),
      validationSetHash: keccakText('validation-set'),
    });
    expect(bountyId).toBe(1n);
    expect(await token.balanceOf(bounties.address)).toBe(budget);
    expect(await token.balanceOf(sponsor.address)).toBe(sponsorStart - budget);
    const state = await bounties.getBounty(bountyId);
    expect(state).toMatchObject({
      sponsor: sponsor.address,
      rounds: 3,
      roundBudget: 1000n * E18,
      deposited: budget,
    });

    // join
    for (const p of people) {
      await token.connect(p).approve(bounties.address, stake);
      await bounties.connect(p).join(bountyId, stake);
    }
    await expectCode(bounties.connect(outsider).join(bountyId, 1n), 'StakeTooLow');
    expect(await token.balanceOf(bounties.address)).toBe(budget + 4n * stake);

    // record 3 rounds (person 3 contributes negatively in round 2)
    const asCoordinator = bounties.connect(coordinator);
    const scores: bigint[][] = [
      [5n, 3n, 2n, 0n],
      [4n, 4n, 2n, -3n],
      [1n, 1n, 1n, 1n],
    ];
    const rounds: RoundContribution[][] = [];
    for (let r = 0; r < 3; r++) {
      const s = scores[r]!;
      const positive = s.reduce((a, x) => a + (x > 0n ? x : 0n), 0n);
      const roundBudget = 1000n * E18 - (r === 2 ? 1n : 0n); // leave 1 wei in round 3
      const batch = people.map((p, i) => ({
        account: p.address,
        commitment: keccakText(`update ${r} ${i}`),
        score: s[i]! * E18,
        reward: s[i]! > 0n ? (roundBudget * s[i]!) / positive : 0n,
      }));
      rounds.push(batch);
      const modelHash = artifactHash(toUtf8Bytes(`model v${r + 1}`));
      if (r === 0) {
        await expectCode(
          bounties.connect(outsider).recordRound(bountyId, 1, modelHash, batch),
          'NotCoordinator',
        );
        await expectCode(
          asCoordinator.recordRound(bountyId, 1, modelHash, batch.slice(0, 2)),
          'TooFewContributors',
        );
        const over = batch.map((b, i) => (i === 0 ? { ...b, reward: b.reward + E18 } : b));
        await expectCode(asCoordinator.recordRound(bountyId, 1, modelHash, over), 'OverBudget');
      }
      const { root } = await asCoordinator.recordRound(bountyId, r + 1, modelHash, batch);
      expect(root).toBe(roundRoot(batch));
      expect(await bounties.roundRoot(bountyId, r + 1)).toBe(root);
      await registry
        .connect(coordinator)
        .publishVersion(bountyId, r + 1, modelHash, `ipfs://model-v${r + 1}`);
      if (r === 0) await expectCode(bounties.refund(bountyId), 'BeforeDeadline');
    }
    await expectCode(
      asCoordinator.recordRound(bountyId, 2, keccakText('again'), rounds[1]!),
      'RoundAlreadyRecorded',
    );
    // a retried settlement job: same batch is a no-op, a different one is refused
    const retried = await asCoordinator.recordRoundOnce(
      bountyId,
      2,
      keccakText('again'),
      rounds[1]!,
    );
    expect(retried).toEqual({ root: roundRoot(rounds[1]!), receipt: null });
    await expectCode(
      asCoordinator.recordRoundOnce(bountyId, 2, keccakText('x'), rounds[0]!),
      'RoundAlreadyRecorded',
    );

    // the ledger reads back from events exactly as recorded
    const recorded = await bounties.recordedRounds(bountyId);
    expect(recorded.map((r) => r.round)).toEqual([1n, 2n, 3n]);
    recorded.forEach((r, i) => {
      expect(
        r.contributions.map(({ account, commitment, score, reward }) => ({
          account,
          commitment,
          score,
          reward,
        })),
      ).toEqual(rounds[i]);
    });
    const allocated = rounds.flat().reduce((a, x) => a + x.reward, 0n);
    expect((await bounties.getBounty(bountyId)).allocated).toBe(allocated);

    // slash the negative contribution
    const [negative] = (await bounties.leavesOf(bountyId, people[3]!.address)).filter(
      (l) => l.score < 0n,
    );
    await expectCode(bounties.slash(bountyId, negative!, E18), 'NotCoordinator');
    await asCoordinator.slash(bountyId, negative!, 40n * E18);
    await expectCode(asCoordinator.slash(bountyId, negative!, E18), 'AlreadySlashed');

    // claim
    const earned = people.map((p) =>
      rounds
        .flat()
        .filter((x) => x.account === p.address)
        .reduce((a, x) => a + x.reward, 0n),
    );
    for (const [i, p] of people.entries()) {
      const before = await token.balanceOf(p.address);
      const { amount } = await bounties.claimAll(bountyId, p.address);
      expect(amount).toBe(earned[i]);
      expect(await token.balanceOf(p.address)).toBe(before + earned[i]!);
    }
    expect(await bounties.claimable(bountyId)).toBe(0n);
    const leaf = (await bounties.leavesOf(bountyId, people[0]!.address))[0]!;
    await expectCode(bounties.claim(bountyId, [leaf]), 'AlreadyClaimed');
    await expectCode(
      bounties.claim(bountyId, [{ ...leaf, reward: leaf.reward + 1n }]),
      'InvalidProof',
    );

    // licence purchase: revenue split by rewards
    const price = 500n * E18;
    await expectCode(
      registry.connect(outsider).setLicenceTerms(bountyId, LicenceKind.Paid, token.address, price),
      'NotSponsor',
    );
    await registry.setLicenceTerms(bountyId, LicenceKind.Paid, token.address, price);
    expect(await registry.hasLicence(bountyId, buyer.address)).toBe(false);
    expect(await registry.hasLicence(bountyId, sponsor.address)).toBe(true);

    // contributors' licences: proven with a rewarded leaf, not granted by joining
    expect(await registry.hasLicence(bountyId, people[0]!.address)).toBe(false);
    const asOutsider = registry.connect(outsider); // anyone may send it for the contributor
    const licensed = await asOutsider.claimContributorLicenceFor(bountyId, people[0]!.address);
    expect(licensed?.leaf).toMatchObject({ round: 1n, index: 0, account: people[0]!.address });
    expect(await registry.hasLicence(bountyId, people[0]!.address)).toBe(true);
    expect(await registry.hasLicence(bountyId, outsider.address)).toBe(false);
    await expectCode(
      asOutsider.claimContributorLicenceFor(bountyId, people[0]!.address),
      'AlreadyLicensed',
    );
    expect(await asOutsider.claimContributorLicenceFor(bountyId, outsider.address)).toBeNull();
    const [unpaid] = await bounties.leavesOf(bountyId, people[3]!.address); // round 1, score 0
    expect(unpaid!.reward).toBe(0n);
    await expectCode(asOutsider.claimContributorLicence(bountyId, unpaid!), 'NoReward');
    const [paid] = (await bounties.leavesOf(bountyId, people[3]!.address)).filter(
      (l) => l.reward > 0n,
    );
    await expectCode(
      asOutsider.claimContributorLicence(bountyId, { ...paid!, account: outsider.address }),
      'InvalidProof',
    );
    expect(await registry.hasLicence(bountyId, people[1]!.address)).toBe(false);
    await token.connect(buyer).approve(registry.address, price);
    const buyerBefore = await token.balanceOf(buyer.address);
    const { amount: paidPrice } = await registry.connect(buyer).buyLicence(bountyId);
    expect(paidPrice).toBe(price);
    expect(await token.balanceOf(buyer.address)).toBe(buyerBefore - price);
    expect(await registry.hasLicence(bountyId, buyer.address)).toBe(true);
    let revenuePaid = 0n;
    for (const p of people) {
      const leaves = (await bounties.leavesOf(bountyId, p.address)).filter((l) => l.reward > 0n);
      const expected = leaves.reduce((a, l) => a + (l.reward * price) / allocated, 0n);
      const before = await token.balanceOf(p.address);
      const { amount } = await registry.claimRevenue(bountyId, token.address, leaves);
      expect(amount).toBe(expected);
      expect(await token.balanceOf(p.address)).toBe(before + expected);
      revenuePaid += amount;
    }
    expect(await token.balanceOf(registry.address)).toBe(price - revenuePaid);
    // a revenue claim that pays proves a rewarded leaf: it grants the licence too
    expect(await registry.hasLicence(bountyId, people[1]!.address)).toBe(true);
    expect(price - revenuePaid).toBeLessThan(16n);

    // ratings: once per version by licensees
    await registry.connect(buyer).rate(bountyId, 3, 5);
    await registry.connect(people[1]!).rate(bountyId, 3, 4);
    await expectCode(registry.connect(buyer).rate(bountyId, 3, 1), 'AlreadyRated');
    await expectCode(registry.connect(outsider).rate(bountyId, 3, 1), 'NoLicence');
    const v3 = await registry.getVersion(bountyId, 3);
    expect(v3).toMatchObject({ ratingCount: 2, ratingSum: 9, uri: 'ipfs://model-v3' });
    expect(v3.artifactHash).toBe(keccak256(toUtf8Bytes('model v3')));

    // refund after the deadline; stakes back
    await expectCode(bounties.connect(people[0]!).withdrawStake(bountyId), 'BeforeDeadline');
    await chain.provider.send('evm_increaseTime', [3601]);
    await chain.provider.send('evm_mine', []);
    const sponsorBefore = await token.balanceOf(sponsor.address);
    await bounties.connect(outsider).refund(bountyId);
    const unallocated = budget - allocated + 40n * E18;
    expect(await token.balanceOf(sponsor.address)).toBe(sponsorBefore + unallocated);
    await expectCode(bounties.refund(bountyId), 'NothingToRefund');
    for (const [i, p] of people.entries()) {
      const before = await token.balanceOf(p.address);
      await bounties.connect(p).withdrawStake(bountyId);
      expect(await token.balanceOf(p.address)).toBe(before + stake - (i === 3 ? 40n * E18 : 0n));
    }
    expect(await token.balanceOf(bounties.address)).toBe(0n);
    const final = await bounties.getBounty(bountyId);
    expect(final.paid + final.refunded).toBe(final.deposited);
  });

  it('reports unknown bounties with a typed code', async () => {
    await expectCode(c.bounties.getBounty(99n), 'UnknownBounty');
    await expectCode(c.bounties.join(99n, 0n), 'UnknownBounty');
  });
});
