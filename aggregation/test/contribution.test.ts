import fc from 'fast-check';
import {
  cryptoRng,
  allUtilities,
  allocateRewards,
  exactShapley,
  makeRng,
  personScores,
  planGroups,
  sampledShapley,
  toFixedScore,
  updateEstimates,
} from '../index.js';

describe('Shapley values over groups', () => {
  it('an additive game gives each player its own value; efficiency and symmetry hold', async () => {
    const own = [0.3, -0.1, 0.05, 0.2];
    const u = (mask: number) => own.reduce((s, v, i) => s + (mask & (1 << i) ? v : 0), 0);
    const phi = exactShapley(await allUtilities(4, u));
    own.forEach((v, i) => expect(phi[i]).toBeCloseTo(v, 12));
    // a game with synergy: U = |S|^2; symmetric players share equally, sum = U(N) - U(0)
    const sq = exactShapley(
      await allUtilities(5, (m) => (m.toString(2).split('1').length - 1) ** 2),
    );
    sq.forEach((v) => expect(v).toBeCloseTo(5, 12));
  });

  it('truncated Monte-Carlo sampling approaches the exact values', async () => {
    const w = [0.5, 0.1, 0.3, 0, 0.2, 0.4, 0.05, 0.15, 0.25, 0.35];
    const u = (mask: number) => {
      let s = 0;
      w.forEach((v, i) => (s += mask & (1 << i) ? v : 0));
      return Math.sqrt(s); // diminishing returns
    };
    const exact = exactShapley(await allUtilities(10, u));
    const est = await sampledShapley(10, u, { permutations: 400, rng: makeRng(5) });
    for (let i = 0; i < 10; i++) expect(Math.abs(est[i]! - exact[i]!)).toBeLessThan(0.02);
  });

  it('per-person scores split a group value by sample weight; estimates are running means', () => {
    const s = personScores([
      {
        value: 0.3,
        members: [
          { id: 'a', weight: 1 },
          { id: 'b', weight: 2 },
        ],
      },
      { value: -0.1, members: [{ id: 'c', weight: 5 }] },
    ]);
    expect(s.get('a')).toBeCloseTo(0.1);
    expect(s.get('b')).toBeCloseTo(0.2);
    expect(s.get('c')).toBeCloseTo(-0.1);
    let e = updateEstimates(new Map(), s);
    e = updateEstimates(e, new Map([['a', 0.3]]));
    expect(e.get('a')).toEqual({ mean: expect.closeTo(0.2, 12), rounds: 2 });
    expect(e.get('b')!.rounds).toBe(1);
  });
});

describe('reward allocation', () => {
  const scoresArb = fc.uniqueArray(
    fc.record({
      id: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 6 }),
      s: fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }),
    }),
    { selector: (r) => r.id, minLength: 1, maxLength: 30 },
  );

  it('sums exactly to the budget, pays nothing to zero or negative scores, and is deterministic', () => {
    fc.assert(
      fc.property(scoresArb, fc.bigInt({ min: 0n, max: 10n ** 30n }), (rows, budget) => {
        const entries = rows.map((r) => [r.id, r.s] as const);
        const a = allocateRewards(budget, entries);
        const b = allocateRewards(budget, [...entries].reverse());
        expect([...a.entries()].sort()).toEqual([...b.entries()].sort());
        const total = [...a.values()].reduce((x, y) => x + y, 0n);
        const anyPositive = rows.some((r) => r.s > 0n);
        expect(total).toBe(anyPositive ? budget : 0n);
        for (const r of rows) {
          if (r.s <= 0n) expect(a.get(r.id)).toBe(0n);
          else expect(a.get(r.id)! >= 0n).toBe(true);
        }
        // monotone: a strictly higher score never gets fewer tokens
        for (const x of rows)
          for (const y of rows)
            if (x.s > y.s && y.s > 0n) expect(a.get(x.id)! >= a.get(y.id)!).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('is proportional up to one unit and fixed-point conversion is exact', () => {
    const r = allocateRewards(100n, [
      ['a', toFixedScore(0.5)],
      ['b', toFixedScore(0.25)],
      ['c', toFixedScore(0.25)],
      ['d', toFixedScore(-1)],
    ]);
    expect(Object.fromEntries(r)).toEqual({ a: 50n, b: 25n, c: 25n, d: 0n });
    const t = allocateRewards(10n, [
      ['x', 1n],
      ['y', 1n],
      ['z', 1n],
    ]);
    expect(Object.fromEntries(t)).toEqual({ x: 4n, y: 3n, z: 3n });
  });
});

describe('group planning', () => {
  it('partitions into at most maxGroups groups of at least minGroupSize', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 300 }),
        fc.integer({ min: 3, max: 10 }),
        fc.integer({ min: 1, max: 12 }),
        (n, min, max) => {
          fc.pre(n >= min);
          const ids = Array.from({ length: n }, (_, i) => `c${i}`);
          const groups = planGroups(ids, { minGroupSize: min, maxGroups: max, rng: makeRng(n) });
          expect(groups.length).toBeLessThanOrEqual(max);
          expect(groups.every((g) => g.length >= min)).toBe(true);
          expect(groups.flat().sort()).toEqual([...ids].sort());
        },
      ),
    );
    expect(() => planGroups(['a', 'b'], { minGroupSize: 3 })).toThrow(
      expect.objectContaining({ code: 'BELOW_THRESHOLD' }),
    );
  });
});

describe('cryptoRng', () => {
  it('draws uniform values in [0, 1) from Web Crypto', () => {
    const rng = cryptoRng();
    const xs = Array.from({ length: 20000 }, () => rng());
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01); // sd of the mean ~0.002
    const bins = new Array<number>(10).fill(0);
    for (const x of xs) bins[Math.floor(x * 10)]!++;
    expect(Math.min(...bins)).toBeGreaterThan(1800);
    expect(new Set(xs).size).toBe(xs.length);
  });
});
