import fc from 'fast-check';
import {
  AggregationError,
  FedAvg,
  RobustAggregation,
  checkGroupSum,
  coordinateMedian,
  coordinateTrimmedMean,
  encodeUpdate,
  makeQuantConfig,
  makeRng,
  sumWords,
  initialServerState,
} from '../index.js';

const codeOf = (f: () => unknown): string | null => {
  try {
    f();
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(AggregationError);
    return (e as AggregationError).code;
  }
};

describe('influence bound of a group sum', () => {
  const cfg = makeQuantConfig({ clip: 2, maxClients: 8, maxWeight: 500 });

  it('never rejects a sum of honest clipped members (any data, weights, sizes)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer(),
        fc.double({ min: 0.01, max: 1e6, noNaN: true }),
        (n, d, seed, spread) => {
          const rng = makeRng(seed);
          const weights = Array.from({ length: n }, () => 1 + Math.floor(rng() * 500));
          const updates = weights.map((w) => {
            // unclipped input of any size: encodeUpdate clips it, as an honest agent does
            const x = Float32Array.from({ length: d }, () => (rng() - 0.5) * spread);
            return encodeUpdate(x, w, cfg, rng);
          });
          const declared = weights.reduce((a, b) => a + b, 0);
          checkGroupSum(sumWords(updates), cfg, { members: n, declaredWeight: declared });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects extreme words, an inflated weight word and a weight the members did not declare', () => {
    const rng = makeRng(7);
    const honest = [3, 4].map((w) =>
      encodeUpdate(
        Float32Array.from({ length: 100 }, () => rng() - 0.5),
        w,
        cfg,
        rng,
      ),
    );
    const extreme = new Uint32Array(101).fill(0x7fffffff);
    extreme[100] = 1;
    const sum = sumWords([...honest, extreme]);
    expect(codeOf(() => checkGroupSum(sum, cfg, { members: 3 }))).toBe('OUT_OF_BOUNDS');
    // an input scaled past its clip, but within int32: still impossible for its weight
    const big = encodeUpdate(new Float32Array(100).fill(0.1), 1, cfg);
    for (let i = 0; i < 100; i++) big[i] = (big[i]! * 50) >>> 0;
    expect(codeOf(() => checkGroupSum(sumWords([...honest, big]), cfg, { members: 3 }))).toBe(
      'OUT_OF_BOUNDS',
    );
    // weight word above n x maxWeight, and one that differs from the declared samples
    const heavy = sumWords(honest);
    heavy[100] = 2 * 500 + 1;
    expect(codeOf(() => checkGroupSum(heavy, cfg, { members: 2 }))).toBe('OUT_OF_BOUNDS');
    const ok = sumWords(honest);
    expect(codeOf(() => checkGroupSum(ok, cfg, { members: 2, declaredWeight: 7 }))).toBeNull();
    expect(codeOf(() => checkGroupSum(ok, cfg, { members: 2, declaredWeight: 8 }))).toBe(
      'OUT_OF_BOUNDS',
    );
  });
});

describe('robust aggregation over group means', () => {
  it('median and trimmed mean ignore one extreme group', () => {
    const honest = [1, 2, 3, 4].map((k) => Float32Array.from([k, -k, 0.5]));
    const hostile = Float32Array.from([1e9, -1e9, 1e9]);
    const med = coordinateMedian([...honest, hostile]);
    expect(Array.from(med)).toEqual([3, -3, 0.5]);
    const tm = coordinateTrimmedMean([...honest, hostile], 1);
    expect(Array.from(tm)).toEqual([3, -3, 0.5]);
    expect(() => coordinateTrimmedMean(honest, 2)).toThrow(AggregationError);
  });

  it('wraps a strategy: the model moves as without the hostile group, not as a mean would', () => {
    const global = new Float32Array(3);
    const results = [
      ...[1, 2, 3, 4].map((k) => ({ delta: Float32Array.from([k, k, k]), weight: 10 })),
      { delta: Float32Array.from([1e6, 1e6, 1e6]), weight: 10 },
    ];
    const robust = new RobustAggregation(new FedAvg(), { rule: 'trimmed', trim: 1 });
    expect(robust.name).toBe('trimmed1(fedavg)');
    const r = robust.aggregateTrain(global, results, initialServerState);
    expect(Array.from(r.weights)).toEqual([3, 3, 3]);
    const plain = new FedAvg().aggregateTrain(global, results, initialServerState);
    expect(plain.weights[0]).toBeGreaterThan(1e5);
    // below minGroups it is the inner weighted mean
    const two = robust.aggregateTrain(global, results.slice(0, 2), initialServerState);
    expect(Array.from(two.weights)).toEqual([1.5, 1.5, 1.5]);
  });
});
