/**
 * Properties of the audit over any ledger (no chain needed: `auditBounty` is pure): an honest
 * ledger passes; moving one token unit between two contributors of a round fails with exactly
 * those two findings; a record that differs from the one committed to fails on its commitments.
 */
import fc from 'fast-check';
import { Wallet } from 'ethers';
import { randomBytes } from 'node:crypto';
import { recordDigests, scoreRound, type ScoringState } from '../../aggregation/index.js';
import type { RecordedRound } from '../../contracts/index.js';
import { auditBounty } from './audit.js';
import {
  RECORD_FORMAT,
  recordCommitment,
  roundRecordHash,
  toLedger,
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
      sumHash: '0x' + randomBytes(32).toString('hex'),
      members: order
        .filter((_, i) => i % g === k)
        .map((id) => ({ id, weight: weights[POOL.indexOf(id)]! })),
    }));
    return { groups, utilities: utilities.slice(0, 1 << g) };
  });

function ledger(
  rounds: {
    groups: RecordRound['groups'];
    utilities: number[];
    rejected?: RecordRound['rejected'];
  }[],
): {
  record: ScoringRecord & { rounds: RecordRound[] };
  chain: RecordedRound[];
} {
  let est: ScoringState = { rounds: [] };
  const recs: RecordRound[] = rounds.map((r, i) => {
    const round = {
      round: i + 1,
      budget: BUDGET.toString(),
      metric: 'neg_loss',
      rejected: [],
      ...r,
    };
    return { ...round, digests: recordDigests(toLedger(1n, round)) };
  });
  const chain = recs.map((r) => {
    const s = scoreRound(toRoundRecord(r), est);
    est = s.state;
    const hash = roundRecordHash(1n, r);
    const contributions = [
      ...r.groups.flatMap((g) => g.members.map((m) => m.id)),
      ...(r.rejected ?? []).flatMap((g) => g.members),
    ].map((id, index) => ({
      account: id,
      commitment: recordCommitment(hash, id),
      score: s.fixedScores.get(id) ?? 0n,
      reward: s.rewards.get(id) ?? 0n,
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
    const sumHash = '0x' + '11'.repeat(32);
    const { record, chain } = ledger([
      { groups: [{ members: a, sumHash }], utilities: [0, 1] },
      { groups: [{ members: a, sumHash }], utilities: [0, 1] },
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

  it('names the round and the field of any one change after settlement', () => {
    type Tamper = [string[], (r: RecordRound) => boolean];
    const tampers: Tamper[] = [
      [['utilities'], (r) => ((r.utilities[r.utilities.length - 1]! += 1.5), true)],
      [['weights'], (r) => ((r.groups[0]!.members[0]!.weight *= 100), true)],
      [['metric'], (r) => ((r.metric = 'accuracy'), true)],
      [['sumHashes'], (r) => ((r.groups[0]!.sumHash = '0x' + '22'.repeat(32)), true)],
      [
        // the weights, listed per group, move with the member
        ['members', 'weights'],
        (r) => {
          // move one member to another group (same people, other company)
          if (r.groups.length < 2 || r.groups[0]!.members.length < 2) return false;
          r.groups[1]!.members.push(r.groups[0]!.members.pop()!);
          return true;
        },
      ],
      [['offenders'], (r) => ((r.offenders = [r.groups[0]!.members[0]!.id]), true)],
      [['rejected'], (r) => ((r.rejected = [{ members: [POOL[0]!], reason: 'x' }]), true)],
    ];
    fc.assert(
      fc.property(
        fc.array(roundArb, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.nat(),
        (rounds, rPick, tPick) => {
          const { record, chain } = ledger(structuredClone(rounds));
          const target = record.rounds[rPick % record.rounds.length]!;
          const [fields, tamper] = tampers[tPick % tampers.length]!;
          fc.pre(tamper(target));
          const rep = auditBounty(1n, BUDGET, chain, record);
          expect(rep.pass).toBe(false);
          const c = rep.findings.filter((f) => f.kind === 'COMMITMENT_MISMATCH');
          expect(c.map((f) => [f.round, f.fields])).toEqual([[target.round, fields]]);
          expect(rep.rows.filter((r) => r.round === target.round).every((r) => !r.pass)).toBe(true);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('members of a group left out are on chain with nothing, and paying them is caught', () => {
    const a = POOL.slice(0, 3).map((id) => ({ id, weight: 5 }));
    const rejected = [{ members: POOL.slice(3, 6), reason: 'OUT_OF_BOUNDS: test' }];
    const sumHash = '0x' + '33'.repeat(32);
    const { record, chain } = ledger([
      { groups: [{ members: a, sumHash }], utilities: [0, 1], rejected },
    ]);
    const rep = auditBounty(1n, BUDGET, chain, record);
    expect(rep.findings).toEqual([]);
    expect(rep.rows).toHaveLength(6);
    const left = chain[0]!.contributions.find((c) => c.account === POOL[3])!;
    left.reward = 1n;
    chain[0]!.contributions.find((c) => c.account === POOL[0])!.reward -= 1n;
    const bad = auditBounty(1n, BUDGET, chain, record);
    expect(bad.findings.map((f) => `${f.kind} ${f.client}`).sort()).toEqual(
      [`REWARD_MISMATCH ${POOL[0]}`, `REWARD_MISMATCH ${POOL[3]}`].sort(),
    );
  });
});
