import fc from 'fast-check';
import { auditRewards, initialScoringState, scoreRound, type RoundRecord } from '../index.js';

/** A round of 3 groups where group 2 holds a free rider's noise: its coalitions score lower. */
function record(budget: bigint, noise = 0): RoundRecord {
  const groups = [
    {
      members: [
        { id: 'a', weight: 100 },
        { id: 'b', weight: 300 },
        { id: 'c', weight: 100 },
      ],
    },
    {
      members: [
        { id: 'd', weight: 200 },
        { id: 'e', weight: 200 },
        { id: 'f', weight: 100 },
      ],
    },
    {
      members: [
        { id: 'g', weight: 100 },
        { id: 'h', weight: 100 },
        { id: 'i', weight: 100 },
      ],
    },
  ];
  const base = [0.1, 0.3, 0.25, -0.05];
  const utilities = Array.from({ length: 8 }, (_, m) => {
    let u = base[3]! + 0.5;
    for (let g = 0; g < 3; g++) if (m & (1 << g)) u += base[g]! + noise * Math.sin(m * 7 + g);
    return u;
  });
  return { budget, groups, utilities };
}

describe('round scoring and audit', () => {
  it('splits group values by weight, pays only positive estimates, sums to the budget', () => {
    const r = record(1_000_000n);
    const s = scoreRound(r);
    expect(s.groupValues.map((v) => +v.toFixed(9))).toEqual([0.1, 0.3, 0.25]);
    expect(s.personScores.get('b')).toBeCloseTo(0.06);
    expect([...s.rewards.values()].reduce((x, y) => x + y, 0n)).toBe(1_000_000n);
    const negative = scoreRound({
      ...r,
      utilities: r.utilities.map((u, m) => (m & 4 ? u - 0.5 : u)),
    });
    for (const id of ['g', 'h', 'i']) expect(negative.rewards.get(id)).toBe(0n);
  });

  it('an auditor re-derives every reward; any tampering is found', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 0.05, noNaN: true }), { minLength: 1, maxLength: 5 }),
        (noises) => {
          let est = initialScoringState;
          const rounds = noises.map((n) => {
            const rec = record(10n ** 18n, n);
            const s = scoreRound(rec, est);
            est = s.state;
            return { record: rec, paid: new Map(s.rewards) };
          });
          expect(auditRewards(rounds).findings).toEqual([]);
          const last = rounds[rounds.length - 1]!;
          last.paid.set('a', last.paid.get('a')! + 1n);
          const { findings } = auditRewards(rounds);
          expect(findings).toEqual([
            {
              round: rounds.length - 1,
              client: 'a',
              claimed: last.paid.get('a'),
              derived: last.paid.get('a')! - 1n,
            },
          ]);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('rejects records that cannot be scored', () => {
    expect(() => scoreRound({ ...record(1n), utilities: [0, 1] })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    expect(() => scoreRound({ ...record(1n), utilities: new Array(8).fill(NaN) })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
  });
});
