/**
 * Validation metric per round, read from the published scoring records. A round's record holds the
 * utility of every coalition of its groups by bit mask: index 0 is the model the round started
 * from, index 2^G - 1 the model with every group's update. Utilities are negative validation loss
 * (or accuracy, as `metric` says), so a loss is shown as -utility.
 */
import type { RoundRow, Scoring } from './api.js';

export interface MetricPoint {
  /** On-chain round number; 0 is the model before the first round. */
  round: number;
  value: number;
}

export interface MetricSeries {
  /** `loss`, `accuracy`, ... */
  metric: string;
  points: MetricPoint[];
}

/** The record's metric: `neg_<m>` utilities are shown as `<m>` (= -utility), others as they are. */
export function metricOf(s: Scoring): { name: string; negated: boolean } {
  const m = s.record.metric ?? s.metric ?? 'neg_loss';
  return m.startsWith('neg_') ? { name: m.slice(4), negated: true } : { name: m, negated: false };
}

/** The record's utility of the coalition `mask` in the metric's own terms (a loss, an accuracy). */
export function metricValue(s: Scoring, mask: number): number {
  const u = s.record.utilities[mask]!;
  return metricOf(s).negated ? -u : u;
}

/** The full coalition's value: the model with every group's update of the round. */
export const roundValue = (s: Scoring): number => metricValue(s, s.record.utilities.length - 1);

/** One point per scored round (by ledger round), plus round 0 from the first scored round's base. */
export function validationSeries(rounds: readonly RoundRow[]): MetricSeries {
  const scored = rounds
    .filter((r) => r.ledgerRound !== null && r.scoring && r.scoring.record.utilities.length > 0)
    .sort((a, b) => a.ledgerRound! - b.ledgerRound!);
  const first = scored[0];
  const metric = first ? metricOf(first.scoring!).name : 'loss';
  const points: MetricPoint[] = [];
  if (first && first.ledgerRound === 1) {
    points.push({ round: 0, value: metricValue(first.scoring!, 0) });
  }
  for (const r of scored) points.push({ round: r.ledgerRound!, value: roundValue(r.scoring!) });
  return { metric, points };
}

/**
 * Validation accuracy of each published version (the aggregator measures it beside the loss it
 * scores by), plus round 0 from the first scored round's starting version.
 */
export function accuracySeries(rounds: readonly RoundRow[]): MetricSeries {
  const scored = rounds
    .filter((r) => r.ledgerRound !== null && r.scoring?.validation)
    .sort((a, b) => a.ledgerRound! - b.ledgerRound!);
  const points: MetricPoint[] = [];
  const first = scored[0];
  if (first && first.ledgerRound === 1) {
    points.push({ round: 0, value: first.scoring!.validation!.before.accuracy });
  }
  for (const r of scored)
    points.push({ round: r.ledgerRound!, value: r.scoring!.validation!.after.accuracy });
  return { metric: 'accuracy', points };
}

/** Milliseconds spent in each state, from the round's transition timestamps. */
export function stageDurations(
  timing: Record<string, number>,
  order: readonly string[],
  now = Date.now(),
): { state: string; ms: number; running: boolean }[] {
  const seen = order.filter((s) => timing[s] !== undefined);
  return seen.map((s, i) => {
    const next = seen[i + 1];
    const end = next !== undefined ? timing[next]! : now;
    return { state: s, ms: Math.max(0, end - timing[s]!), running: next === undefined };
  });
}
