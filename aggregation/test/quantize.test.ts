import fc from 'fast-check';
import {
  AggregationError,
  clipL2,
  decodeSum,
  encodeUpdate,
  l2norm,
  makeQuantConfig,
  makeRng,
  sumWords,
} from '../index.js';

describe('quantize', () => {
  it('rejects a configuration that breaks the no-wrap bound', () => {
    expect(() =>
      makeQuantConfig({ clip: 1, maxClients: 1000, maxWeight: 1000, scale: 2 ** 12 }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG' }));
    const cfg = makeQuantConfig({ clip: 1, maxClients: 1000, maxWeight: 1000 });
    expect(1000 * (1000 * 1 * cfg.scale + 1)).toBeLessThanOrEqual(2 ** 31 - 1);
    // The next power of two would break it: the chosen scale is the largest that fits.
    expect(1000 * (1000 * 1 * cfg.scale * 2 + 1)).toBeGreaterThan(2 ** 31 - 1);
  });

  it('clips to the L2 bound and leaves short vectors alone', () => {
    const long = Float32Array.from([3, 4]);
    expect(l2norm(clipL2(long, 1))).toBeLessThanOrEqual(1);
    expect(l2norm(clipL2(long, 1))).toBeGreaterThan(0.999);
    expect(Array.from(clipL2(Float32Array.from([0.3, 0.4]), 1))).toEqual(
      Array.from(Float32Array.from([0.3, 0.4])),
    );
  });

  it('sums of encoded updates decode to the weighted mean within the rounding error', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            delta: fc.array(fc.float({ min: -0.5, max: 0.5, noNaN: true }), {
              minLength: 4,
              maxLength: 4,
            }),
            weight: fc.integer({ min: 1, max: 100 }),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        (clients) => {
          const cfg = makeQuantConfig({ clip: 1, maxClients: 20, maxWeight: 100 });
          const rng = makeRng(7);
          const sum = sumWords(
            clients.map((c) => encodeUpdate(Float32Array.from(c.delta), c.weight, cfg, rng)),
          );
          const { mean, totalWeight } = decodeSum(sum, cfg);
          const W = clients.reduce((s, c) => s + c.weight, 0);
          expect(totalWeight).toBe(W);
          for (let i = 0; i < 4; i++) {
            const want =
              clients.reduce(
                (s, c) => s + clipL2(Float32Array.from(c.delta), 1)[i]! * c.weight,
                0,
              ) / W;
            // each client's word is off by < 1 unit: the mean by < n / (scale W)
            expect(Math.abs(mean[i]! - want)).toBeLessThanOrEqual(
              clients.length / (cfg.scale * W) + 1e-6,
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stochastic rounding is unbiased', () => {
    const cfg = makeQuantConfig({ clip: 10, maxClients: 1, maxWeight: 1, scale: 1 });
    const rng = makeRng(1);
    const x = Float32Array.from([0.3, -0.7, 2.25]);
    const n = 20000;
    const acc = [0, 0, 0];
    for (let k = 0; k < n; k++) {
      const q = encodeUpdate(x, 1, cfg, rng);
      for (let i = 0; i < 3; i++) acc[i]! += q[i]! | 0;
    }
    for (let i = 0; i < 3; i++) expect(Math.abs(acc[i]! / n - x[i]!)).toBeLessThan(0.02);
  });

  it('rejects non-integer or oversized weights and non-finite updates', () => {
    const cfg = makeQuantConfig({ clip: 1, maxClients: 10, maxWeight: 5 });
    expect(() => encodeUpdate(new Float32Array(2), 6, cfg)).toThrow(AggregationError);
    expect(() => encodeUpdate(new Float32Array(2), 1.5, cfg)).toThrow(AggregationError);
    expect(() => encodeUpdate(Float32Array.from([NaN, 0]), 1, cfg)).toThrow(AggregationError);
  });
});
