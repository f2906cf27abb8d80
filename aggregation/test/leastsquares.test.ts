import { leastSquaresEstimates, makeRng, shuffled, type GroupRound } from '../index.js';

describe('least-squares person estimates from group values', () => {
  it('recovers additive contributions from redrawn groups, where a running mean cannot', () => {
    // 10 people: 7 good (+0.1), 2 free riders (0), 1 harmful (-0.1)
    const truth = new Map<string, number>();
    for (let i = 0; i < 10; i++) truth.set(`p${i}`, i < 7 ? 0.1 : i < 9 ? 0 : -0.1);
    const ids = [...truth.keys()];
    const rng = makeRng(4);
    const rounds: GroupRound[] = [];
    for (let r = 0; r < 10; r++) {
      const order = shuffled(ids, rng);
      const groups = [order.slice(0, 3), order.slice(3, 6), order.slice(6)];
      rounds.push({
        groups,
        values: groups.map((g) => g.reduce((s, id) => s + truth.get(id)!, 0)),
      });
    }
    const est = leastSquaresEstimates(rounds);
    for (const [id, c] of truth) expect(est.get(id)).toBeCloseTo(c, 2);
    // The running mean of weight-equal group shares keeps the company's credit.
    const mean = new Map(ids.map((id) => [id, 0]));
    for (const r of rounds)
      r.groups.forEach((g, k) =>
        g.forEach((id) => mean.set(id, mean.get(id)! + r.values[k]! / g.length / 10)),
      );
    expect(mean.get('p7')!).toBeGreaterThan(0.02); // a free rider looks good
    expect(Math.abs(est.get('p7')!)).toBeLessThan(0.01);
  });

  it('is deterministic, handles people seen once, and rejects bad input', () => {
    const r: GroupRound[] = [
      {
        groups: [
          ['a', 'b', 'c'],
          ['d', 'e', 'f'],
        ],
        values: [0.3, 0.6],
      },
    ];
    const e1 = leastSquaresEstimates(r);
    expect([...e1.keys()].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(e1.get('a')).toBeCloseTo(0.1, 3);
    expect(e1.get('d')).toBeCloseTo(0.2, 3);
    expect(leastSquaresEstimates(r)).toEqual(e1);
    expect(leastSquaresEstimates([])).toEqual(new Map());
    expect(() => leastSquaresEstimates([{ groups: [['a']], values: [] }])).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
  });
});
