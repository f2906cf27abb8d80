/** The web app's reading of the scoring records: validation metric per round, time per stage. */
import type { RoundRow, Scoring } from '../../web/src/api.js';
import { metricOf, stageDurations, validationSeries } from '../../web/src/metrics.js';

function round(ledgerRound: number | null, utilities: number[], metric = 'neg_loss'): RoundRow {
  const scoring: Scoring = {
    record: { budget: '0', groups: [], utilities, metric },
    groupValues: [],
    fixedScores: {},
    rewards: {},
  };
  return {
    id: ledgerRound ?? 99,
    number: ledgerRound ?? 99,
    ledgerRound,
    state: 'scored',
    abortReason: null,
    modelVersion: 0,
    timing: {},
    scoring: utilities.length ? scoring : null,
    groups: [],
    receipts: [],
  };
}

describe('validationSeries', () => {
  it('loss = -utility of the full coalition per round, round 0 from the first base', () => {
    // Two groups: utilities of {}, {0}, {1}, {0,1}.
    const s = validationSeries([
      round(2, [-0.5, -0.4, -0.45, -0.3]),
      round(1, [-1.4, -0.9, -1.0, -0.5]),
      round(null, []),
    ]);
    expect(s.metric).toBe('loss');
    expect(s.points).toEqual([
      { round: 0, value: 1.4 },
      { round: 1, value: 0.5 },
      { round: 2, value: 0.3 },
    ]);
  });

  it('an accuracy record is shown as it is; an unscored or aborted round adds no point', () => {
    const s = validationSeries([round(1, [0.1, 0.6], 'accuracy'), round(null, [0.2, 0.3])]);
    expect(s.metric).toBe('accuracy');
    expect(s.points).toEqual([
      { round: 0, value: 0.1 },
      { round: 1, value: 0.6 },
    ]);
  });

  it('reads the metric from older records that kept it beside the record', () => {
    const r = round(1, [-2, -1]);
    delete r.scoring!.record.metric;
    r.scoring!.metric = 'neg_loss';
    expect(metricOf(r.scoring!)).toEqual({ name: 'loss', negated: true });
    expect(validationSeries([r]).points.map((p) => p.value)).toEqual([2, 1]);
  });
});

describe('stageDurations', () => {
  it('time in each state until the next, the last one running until now', () => {
    const d = stageDurations(
      { keys: 100, shares: 250, masked: 300 },
      ['keys', 'shares', 'masked', 'unmask'],
      1000,
    );
    expect(d).toEqual([
      { state: 'keys', ms: 150, running: false },
      { state: 'shares', ms: 50, running: false },
      { state: 'masked', ms: 700, running: true },
    ]);
  });
});
