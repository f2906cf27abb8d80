/**
 * Properties of the audit over any ledger (no chain needed: `auditBounty` is pure): an honest
 * ledger passes; moving one token unit between two contributors of a round fails with exactly
 * those two findings; a record that differs from the one committed to fails on its commitments.
 */
import fc from 'fast-check';
import { Wallet } from 'ethers';
import { scoreRound, type ScoringState } from '../../aggregation/index.js';
import type { RecordedRound } from '../../contracts/index.js';
import { auditBounty } from './audit.js';
import {
  RECORD_FORMAT,
  recordCommitment,
  roundRecordHash,
  toRoundRecord,
  type RecordRound,
  type ScoringRecord,
} from './record.js';

const POOL = Array.from({ length: 8 }, () => Wallet.createRandom().address);
const BUDGET = 10n ** 21n;

const roundArb = fc
  .record({
    order: fc.shuffledSubarray(POOL, { minLength: 2, maxLength: 8 }),
    cuts: fc.integer({ min: 1, max: 3 }),
    weights: fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 8, maxLength: 8 }),
    utilities: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
      minLength: 16,
      maxLength: 16,
    }),
  })
  .map(({ order, cuts, weights, utilities }) => {
    const g = Math.min(cuts + 1, order.length);
    const groups = Array.from({ length: g }, (_, k) => ({
      members: order
        .filter((_, i) => i % g === k)
        .map((id) => ({ id, weight: weights[POOL.indexOf(id)]! })),
    }));
    return { groups, utilities: utilities.slice(0, 1 << g) };
  });

function ledger(rounds: { groups: RecordRound['groups']; utilities: number[] }[]): {
  record: ScoringRecord;
  chain: RecordedRound[];
} {
  let est: ScoringState = { rounds: [] };
  const recs: RecordRound[] = rounds.map((r, i) => ({
    round: i + 1,
    budget: BUDGET.toString(),
    ...r,
  }));
  const chain = recs.map((r) => {
    const s = scoreRound(toRoundRecord(r), est);
    est = s.state;
    const hash = roundRecordHash(r);
    const contributions = r.groups
      .flatMap((g) => g.members)
      .map((m, index) => ({
        account: m.id,
        commitment: recordCommitment(hash, m.id),
        score: s.fixedScores.get(m.id)!,
        reward: s.rewards.get(m.id)!,
        bountyId: 1n,
        round: BigInt(r.round),
        index,
        blockNumber: 0,
        transactionHash: '0x',
      }));
    return {
      bountyId: 1n,
      round: BigInt(r.round),
      modelHash: '0x',
      root: '0x',
      totalReward: 0n,
      contributions,
    };
  });
  return { record: { format: RECORD_FORMAT, bountyId: '1', rounds: recs }, chain };
}

describe('auditBounty', () => {
  it('passes every honest ledger', () => {
    fc.assert(
      fc.property(fc.array(roundArb, { minLength: 1, maxLength: 3 }), (rounds) => {
        const { record, chain } = ledger(rounds);
        const rep = auditBounty(1n, BUDGET, chain, record);
        expect(rep.findings).toEqual([]);
        expect(rep.rows.every((r) => r.pass && r.commitment === 'bound')).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('names exactly the two clients of the round where one unit moved', () => {
    fc.assert(
      fc.property(
        fc.array(roundArb, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.nat(),
        (rounds, rPick, cPick) => {
          const { record, chain } = ledger(rounds);
          const round = chain[rPick % chain.length]!;
          const paid = round.contributions.filter((c) => c.reward > 0n);
          fc.pre(paid.length >= 1 && round.contributions.length >= 2);
          const from = paid[cPick % paid.length]!;
          const to = round.contributions.find((c) => c !== from)!;
          from.reward -= 1n;
          to.reward += 1n;
          const rep = auditBounty(1n, BUDGET, chain, record);
          expect(rep.pass).toBe(false);
          expect(rep.findings.map((f) => `${f.kind} ${f.round} ${f.client}`).sort()).toEqual(
            [
              `REWARD_MISMATCH ${round.round} ${from.account}`,
              `REWARD_MISMATCH ${round.round} ${to.account}`,
            ].sort(),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('fails a record that is not the one the chain committed to', () => {
    fc.assert(
      fc.property(roundArb, fc.nat(), (r, k) => {
        const { record, chain } = ledger([r]);
        const u = record.rounds[0]!.utilities;
        u[k % u.length] = u[k % u.length]! + 0.5;
        const rep = auditBounty(1n, BUDGET, chain, record);
        expect(rep.findings.some((f) => f.kind === 'COMMITMENT_MISMATCH')).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('reports rounds missing on either side and a wrong budget', () => {
    const a = POOL.slice(0, 3).map((id) => ({ id, weight: 1 }));
    const { record, chain } = ledger([
      { groups: [{ members: a }], utilities: [0, 1] },
      { groups: [{ members: a }], utilities: [0, 1] },
    ]);
    const rep = auditBounty(1n, BUDGET, chain.slice(0, 1), record);
    expect(rep.findings.map((f) => f.kind)).toEqual(['ROUND_NOT_ON_CHAIN']);
    const rep2 = auditBounty(1n, BUDGET + 1n, chain, {
      ...record,
      rounds: record.rounds.slice(0, 1),
    });
    expect(rep2.findings.map((f) => `${f.kind} ${f.round}`).sort()).toEqual([
      'BUDGET_MISMATCH 1',
      'ROUND_NOT_PUBLISHED 2',
    ]);
  });
});
