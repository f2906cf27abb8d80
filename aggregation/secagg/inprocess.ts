/**
 * Runs the whole SecAgg+ protocol for one group inside one process: every client's state
 * machine and the server's, with real keys, shares, boxes and masks, and optional dropouts at
 * each stage. For simulations, tests and benchmarks; the server and agents run the same state
 * machines over Socket.IO.
 */
import { DEFAULT_PRG, type PrgName } from '../defaults.js';
import type { Quantized } from '../types.js';
import { SecAggClient } from './client.js';
import { defaultGroupParams } from './graph.js';
import type { GroupParams } from './params.js';
import { SecAggGroupServer, type GroupResult } from './server.js';

export interface InProcessOptions {
  round?: string;
  group?: string;
  neighbours?: number;
  threshold?: number;
  /** The mask PRG (default: the one new bounties name). */
  prg?: PrgName;
  /** Indices of clients that never advertise keys (drop before stage 1 completes). */
  dropBeforeAdvertise?: readonly number[];
  /** Indices of clients that advertise but never send shares (stage 2). */
  dropAfterAdvertise?: readonly number[];
  /** Indices of clients that share keys but never send a masked input (stage 3). */
  dropAfterShare?: readonly number[];
  /** Indices of clients that send a masked input but no unmask shares (stage 4). */
  dropAfterMasked?: readonly number[];
}

export async function runSecAggInProcess(
  inputs: readonly Quantized[],
  opts: InProcessOptions = {},
): Promise<GroupResult> {
  const n = inputs.length;
  const defaults = defaultGroupParams(Math.max(3, n));
  const params: GroupParams = {
    round: opts.round ?? 'round',
    group: opts.group ?? 'group',
    dim: inputs[0]!.length,
    neighbours: opts.neighbours ?? defaults.neighbours,
    threshold: opts.threshold ?? defaults.threshold,
    prg: opts.prg ?? DEFAULT_PRG,
  };
  const ids = inputs.map((_, i) => `client-${String(i).padStart(4, '0')}`);
  const server = new SecAggGroupServer(params, ids);
  const clients = ids.map((id) => new SecAggClient(id, params));
  const gone = new Set<number>();
  const dropNow = (list?: readonly number[]) => list?.forEach((i) => gone.add(i));
  const alive = () => clients.map((c, i) => ({ c, i })).filter(({ i }) => !gone.has(i));

  dropNow(opts.dropBeforeAdvertise);
  for (const { c } of alive()) await server.receive(await c.advertise());
  const roster = server.closeAdvertise();

  dropNow(opts.dropAfterAdvertise);
  for (const { c } of alive()) await server.receive(await c.shareKeys(roster));
  const inboxes = server.closeShares();

  dropNow(opts.dropAfterShare);
  for (const { c, i } of alive())
    await server.receive(await c.maskInput(inboxes.get(c.id), inputs[i]!));
  const request = server.closeMasked();

  dropNow(opts.dropAfterMasked);
  // Inputs left out at stage 3 (too few holders of their shares) take no part in stage 4.
  const survivors = new Set(request.survivors);
  const confirming = alive().filter(({ c }) => survivors.has(c.id));
  for (const { c } of confirming) await server.receive(await c.confirm(request));
  const confirmations = server.closeConfirm();
  for (const { c } of confirming) await server.receive(await c.unmask(confirmations.get(c.id)));
  return server.finish();
}
