import {
  CentralDP,
  FedAdam,
  FedAvg,
  FedProx,
  FedYogi,
  initialServerState,
  makeRng,
  weightedMean,
} from '../index.js';

const f = (...x: number[]) => Float32Array.from(x);

describe('strategies', () => {
  it('weightedMean states and checks its preconditions', () => {
    expect(
      Array.from(
        weightedMean([
          { delta: f(1, 0), weight: 1 },
          { delta: f(0, 1), weight: 3 },
        ]),
      ),
    ).toEqual([0.25, 0.75]);
    expect(() => weightedMean([])).toThrow(expect.objectContaining({ code: 'CONFIG' }));
    expect(() => weightedMean([{ delta: f(1), weight: 0 }])).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    expect(() =>
      weightedMean([
        { delta: f(1), weight: 1 },
        { delta: f(1, 2), weight: 1 },
      ]),
    ).toThrow(expect.objectContaining({ code: 'VECTOR_LENGTH' }));
  });

  it('FedAvg steps to the weighted mean; FedProx passes mu to clients', () => {
    const s = new FedAvg({ localEpochs: 2 });
    const { weights, state } = s.aggregateTrain(
      f(1, 1),
      [
        { delta: f(2, 0), weight: 1 },
        { delta: f(0, 2), weight: 1 },
      ],
      initialServerState,
    );
    expect(Array.from(weights)).toEqual([2, 2]);
    expect(state.round).toBe(1);
    expect(s.configureTrain(3)).toMatchObject({ round: 3, localEpochs: 2, proxMu: 0 });
    expect(new FedProx({ proxMu: 0.01 }).configureTrain(1).proxMu).toBe(0.01);
    expect(() => new FedProx({ proxMu: 0 })).toThrow(expect.objectContaining({ code: 'CONFIG' }));
  });

  it('FedAdam and FedYogi follow Reddi et al. (2021), Alg. 2, step by step', () => {
    const eta = 0.1,
      b1 = 0.9,
      b2 = 0.99,
      tau = 1e-3;
    for (const S of [FedAdam, FedYogi]) {
      const s = new S({ eta, beta1: b1, beta2: b2, tau });
      let x: Float32Array = f(0.5);
      let state = initialServerState;
      let m = 0,
        v = tau * tau,
        xr = 0.5;
      for (const d of [0.2, -0.1, 0.3]) {
        ({ weights: x, state } = s.aggregateTrain(x, [{ delta: f(d), weight: 1 }], state));
        m = b1 * m + (1 - b1) * d;
        v = S === FedAdam ? b2 * v + (1 - b2) * d * d : v - (1 - b2) * d * d * Math.sign(v - d * d);
        xr = xr + (eta * m) / (Math.sqrt(v) + tau);
        expect(x[0]).toBeCloseTo(xr, 5);
      }
      expect(state.round).toBe(3);
    }
  });

  it('CentralDP wraps any strategy and adds noise of std z*C/n to the mean', () => {
    const dp = new CentralDP(new FedAvg(), { noiseMultiplier: 1, clip: 2, rng: makeRng(3) });
    expect(dp.name).toBe('dp(fedavg)');
    const d = 20000;
    const { weights } = dp.aggregateTrain(
      new Float32Array(d),
      [{ delta: new Float32Array(d), weight: 5, clients: 4 }],
      initialServerState,
    );
    let s2 = 0;
    for (const w of weights) s2 += w * w;
    expect(Math.sqrt(s2 / d)).toBeCloseTo(0.5, 1); // 1 * 2 / 4
  });
});
