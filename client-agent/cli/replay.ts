/**
 * `tributary audit <bounty> --replay [--validation <data>]`: the I/O of the replay audit
 * (client-agent/audit/replay.ts). Fetches the bounty's spec (checked against the chain's hash),
 * version 0 and model.json, and every recorded round's group aggregates — released with the
 * version they produced, to a wallet that may download it (the sponsor, licence holders) — then
 * replays training through the bounty's strategy and compares every version's hash with the
 * registry; given the validation set (checked against the chain's hash), every coalition utility.
 */
import { Trainer } from '../index.js';
import { makeDataset, type Dataset } from '../data/dataset.js';
import { replayTraining, type ReplayGroup, type ReplayReport } from '../audit/index.js';
import type { RecordRound } from '../audit/index.js';
import { downloadHeaders } from './model.js';
import { getJson, request, type Context } from './context.js';
import { loadData } from './data.js';
import { fail } from './errors.js';
import {
  encodeValidation,
  ensureBackend,
  specHash,
  validationHash,
  type BountySpec,
} from './spec.js';
import { maybeWallet } from './wallet.js';

interface Aggregates {
  version: number;
  ledgerRound: number | null;
  groups: { index: number; sumHash: string; weight: number; mean: string }[];
}

const floats = (b: Uint8Array) => {
  const copy = new Uint8Array(b); // aligned
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
};

export async function replayAudit(
  ctx: Context,
  id: bigint,
  rounds: readonly RecordRound[],
  validation: string | undefined,
): Promise<ReplayReport> {
  if (!ctx.server)
    fail('RECORD_UNAVAILABLE', 'the replay needs the aggregator: pass --server <url>');
  const server = ctx.server;
  const b = await ctx.contracts.bounties.getBounty(id);
  const spec = await getJson<BountySpec>(server, `/bounties/${id}/spec`);
  if (specHash(spec) !== b.modelSpecHash) {
    fail('BOUNTY_MISMATCH', `the server's spec of bounty ${id} does not hash to the chain's`);
  }
  const wallet = await maybeWallet(ctx.opts, ctx.io, ctx.provider);
  const get = async (path: string, version: number) => {
    const res = await request(server, path, {
      headers: await downloadHeaders(wallet, id, BigInt(version)),
    });
    return new Uint8Array(await res.arrayBuffer());
  };
  const modelJson = await get(`/models/${id}/versions/0/model.json`, 0);
  const initialWeights = floats(await get(`/models/${id}/versions/0/weights.bin`, 0));
  const sorted = [...rounds].sort((a, b) => a.round - b.round);
  const aggregates = new Map<number, ReplayGroup[]>();
  for (const [k, r] of sorted.entries()) {
    const a = JSON.parse(
      Buffer.from(await get(`/models/${id}/versions/${k + 1}/aggregates`, k + 1)).toString('utf8'),
    ) as Aggregates;
    aggregates.set(
      r.round,
      a.groups.map((g) => ({
        sumHash: g.sumHash,
        weight: g.weight,
        mean: floats(Buffer.from(g.mean, 'base64')),
      })),
    );
  }
  let utility: ((w: Float32Array) => Promise<number>) | undefined;
  let trainer: Trainer | undefined;
  if (validation) {
    const val = await loadData(validation, 'test', {});
    if (validationHash(encodeValidation(val)) !== b.validationSetHash) {
      fail(
        'HASH_MISMATCH',
        `${validation} is not the bounty's validation set (its hash differs from the chain's)`,
      );
    }
    await ensureBackend();
    // The topology as served in model.json (a fresh object: tfjs consumes the one it is given).
    const topology = (
      JSON.parse(Buffer.from(modelJson).toString('utf8')) as {
        modelTopology: Record<string, unknown>;
      }
    ).modelTopology;
    trainer = await Trainer.create(topology);
    const flat: Dataset = makeDataset(val.x, val.y, val.sampleShape, val.numClasses);
    utility = async (w) => -trainer!.evaluate(w, flat).loss;
  }
  try {
    return await replayTraining({
      spec,
      initialWeights,
      modelJson,
      rounds: sorted,
      aggregates,
      utility,
      versionHash: async (v) => {
        const mv = await ctx.contracts.registry.getVersion(id, v);
        return /^0x0+$/.test(mv.artifactHash) ? undefined : mv.artifactHash;
      },
    });
  } finally {
    trainer?.dispose();
  }
}
