/**
 * The SecAgg+ communication graph (Bell et al. 2020, §3): each client shares its secrets only
 * with k neighbours instead of everyone, so cost grows with k = O(log n) rather than n.
 * We use a circulant (Harary-style) graph over a pseudo-random ordering of the members that
 * every party derives from the round and group; with k >= n - 1 it is the complete graph of
 * the original protocol (Bonawitz et al. 2017).
 */
import { createHash } from 'node:crypto';
import { check } from '../errors.js';
import type { ClientId, GroupId, RoundId } from '../types.js';

export type Neighbourhoods = ReadonlyMap<ClientId, readonly ClientId[]>;

export function neighbourGraph(
  members: readonly ClientId[],
  k: number,
  round: RoundId,
  group: GroupId,
): Neighbourhoods {
  const n = members.length;
  check(new Set(members).size === n, 'CONFIG', 'duplicate member ids');
  check(Number.isInteger(k) && k >= 1, 'CONFIG', `neighbour count must be >= 1, got ${k}`);
  const key = (id: ClientId) =>
    createHash('sha256')
      .update(`tributary/graph/v1\u0000${round}\u0000${group}\u0000${id}`)
      .digest('hex');
  const order = members
    .map((id) => ({ id, key: key(id) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((x) => x.id);
  const out = new Map<ClientId, ClientId[]>();
  if (k >= n - 1) {
    for (const id of order) out.set(id, order.filter((o) => o !== id).sort());
    return out;
  }
  check(k % 2 === 0, 'CONFIG', `a sparse neighbour graph needs an even k, got ${k}`);
  for (let i = 0; i < n; i++) {
    const nb: ClientId[] = [];
    for (let d = 1; d <= k / 2; d++) nb.push(order[(i + d) % n]!, order[(i - d + n) % n]!);
    out.set(order[i]!, nb.sort());
  }
  return out;
}

/** Default SecAgg+ parameters for a group: k neighbours and a strict-majority threshold t. */
export function defaultGroupParams(size: number): { neighbours: number; threshold: number } {
  check(size >= 3, 'CONFIG', `a group needs at least 3 members, got ${size}`);
  const sparse = 2 * Math.ceil(Math.log2(size)) + 2;
  const neighbours = sparse >= size - 1 ? size - 1 : sparse;
  // Shares go to the k neighbours and the client itself: k + 1 holders.
  const threshold = Math.floor((neighbours + 1) / 2) + 1;
  return { neighbours, threshold };
}
