/**
 * Ways to split one data set among simulated clients. Each returns, per client, the indices of
 * its samples; together they cover every sample exactly once.
 */
import { DataError } from './errors.js';
import { dirichlet, permutation, type Rng } from './random.js';

function check(n: number, clients: number): void {
  if (!Number.isInteger(clients) || clients < 1 || clients > n) {
    throw new DataError('PARTITION_BAD_ARGS', `cannot split ${n} samples among ${clients} clients`);
  }
}

/** IID: a random permutation cut into near-equal parts. */
export function iidPartition(n: number, clients: number, rng: Rng): number[][] {
  check(n, clients);
  const p = permutation(n, rng);
  return Array.from({ length: clients }, (_, c) =>
    p.slice(Math.floor((c * n) / clients), Math.floor(((c + 1) * n) / clients)),
  );
}

/**
 * Label skew: for each class, client shares drawn from Dirichlet(alpha) (Hsu et al. 2019).
 * Small alpha (0.1) gives each client few classes; large alpha approaches IID. Redraws (up to
 * a limit) while some client is left with fewer than `minPerClient` samples.
 */
export function dirichletPartition(
  labels: ArrayLike<number>,
  clients: number,
  alpha: number,
  rng: Rng,
  minPerClient = 1,
): number[][] {
  check(labels.length, clients);
  if (!(alpha > 0)) throw new DataError('PARTITION_BAD_ARGS', `alpha must be > 0, got ${alpha}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    const list = byClass.get(l) ?? [];
    list.push(i);
    byClass.set(l, list);
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const parts: number[][] = Array.from({ length: clients }, () => []);
    for (const cls of [...byClass.keys()].sort((a, b) => a - b)) {
      const idx = byClass.get(cls)!.slice();
      const shuffled = permutation(idx.length, rng).map((j) => idx[j]!);
      const q = dirichlet(alpha, clients, rng);
      let start = 0;
      let acc = 0;
      for (let c = 0; c < clients; c++) {
        acc += q[c]!;
        const end = c === clients - 1 ? shuffled.length : Math.round(acc * shuffled.length);
        for (let j = start; j < end; j++) parts[c]!.push(shuffled[j]!);
        start = Math.max(start, end);
      }
    }
    if (parts.every((p) => p.length >= minPerClient)) return parts;
  }
  throw new DataError(
    'PARTITION_BAD_ARGS',
    `Dirichlet(${alpha}) left a client with < ${minPerClient} samples in 100 draws`,
  );
}

/**
 * Pathological non-IID split of McMahan et al. 2017 (section 3): sort by label, cut into
 * clients*shardsPerClient equal shards, give each client `shardsPerClient` random shards, so
 * most clients see only two classes.
 */
export function shardPartition(
  labels: ArrayLike<number>,
  clients: number,
  rng: Rng,
  shardsPerClient = 2,
): number[][] {
  const n = labels.length;
  const shards = clients * shardsPerClient;
  check(n, shards);
  const order = Array.from({ length: n }, (_, i) => i);
  // Stable sort by label, ties broken by a random key so shards are not index-ordered.
  const key = order.map(() => rng());
  order.sort((a, b) => labels[a]! - labels[b]! || key[a]! - key[b]!);
  const shardOrder = permutation(shards, rng);
  return Array.from({ length: clients }, (_, c) => {
    const out: number[] = [];
    for (let s = 0; s < shardsPerClient; s++) {
      const shard = shardOrder[c * shardsPerClient + s]!;
      const from = Math.floor((shard * n) / shards);
      const to = Math.floor(((shard + 1) * n) / shards);
      for (let j = from; j < to; j++) out.push(order[j]!);
    }
    return out;
  });
}

export type PartitionKind = 'iid' | 'dirichlet' | 'shards';

export function partition(
  kind: PartitionKind,
  labels: ArrayLike<number>,
  clients: number,
  rng: Rng,
  opts: { alpha?: number; shardsPerClient?: number } = {},
): number[][] {
  switch (kind) {
    case 'iid':
      return iidPartition(labels.length, clients, rng);
    case 'dirichlet':
      return dirichletPartition(labels, clients, opts.alpha ?? 0.5, rng);
    case 'shards':
      return shardPartition(labels, clients, rng, opts.shardsPerClient ?? 2);
  }
}
