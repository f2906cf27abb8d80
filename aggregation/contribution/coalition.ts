/**
 * The model a coalition of groups is measured at: U(S) = metric(global + mean update of the groups
 * in S, weighted by their total sample weights). One function for the aggregator's scoring, the
 * replay audit and the simulation, so that all three measure the very same weights (float32,
 * accumulated in group order).
 */
export function coalitionWeights(
  base: Float32Array,
  groups: readonly { readonly mean: Float32Array; readonly weight: number }[],
  mask: number,
): Float32Array {
  const w = new Float32Array(base);
  let total = 0;
  for (let g = 0; g < groups.length; g++) if (mask & (1 << g)) total += groups[g]!.weight;
  for (let g = 0; g < groups.length; g++) {
    if (!(mask & (1 << g))) continue;
    const f = groups[g]!.weight / total;
    const m = groups[g]!.mean;
    for (let i = 0; i < w.length; i++) w[i] = w[i]! + f * m[i]!;
  }
  return w;
}
