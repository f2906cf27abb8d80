/**
 * What a bounty's spec (GET /bounties/:id/spec) says about its model: the parameter count (the
 * length of every update vector), the input shape of one example and the number of classes.
 */
import type { SpecSummary } from './api.js';

export interface Task {
  params: number;
  /** One example's shape without the batch axis, or null when the topology does not say. */
  inputShape: number[] | null;
  /** Units of the last layer, or null when the spec has no weights. */
  classes: number | null;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function firstInputShape(topology: unknown): number[] | null {
  const cfg = (topology as { config?: { layers?: { config?: Record<string, unknown> }[] } })
    ?.config;
  const first = cfg?.layers?.[0]?.config;
  const shape = (first?.['batch_input_shape'] ?? first?.['batchInputShape']) as unknown;
  if (!Array.isArray(shape)) return null;
  const rest = shape.slice(1);
  return rest.every((d) => Number.isInteger(d) && (d as number) > 0) ? (rest as number[]) : null;
}

export function taskOf(spec: SpecSummary): Task {
  const last = spec.weightSpecs[spec.weightSpecs.length - 1];
  return {
    params: spec.weightSpecs.reduce((a, w) => a + prod(w.shape), 0),
    inputShape: firstInputShape(spec.modelTopology),
    classes: last ? (last.shape[last.shape.length - 1] ?? null) : null,
  };
}

/** 1234 -> "1,234", 1234567 -> "1.23 M". */
export const formatParams = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : new Intl.NumberFormat('en').format(n);
