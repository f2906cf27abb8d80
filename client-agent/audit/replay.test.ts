/**
 * The replay audit over a training run made here with the aggregator's own strategy: an honest
 * history passes; a changed aggregate, a model version the strategy does not give, or a utility
 * the validation set does not give each fail, naming the round (and version or coalition).
 */
import { aggregateHash } from '../../aggregation/contribution/commitment.js';
import { modelArtifactHash } from '../../aggregation/spec.js';
import { strategyFromSpec } from '../../aggregation/strategy/from-spec.js';
import { initialServerState } from '../../aggregation/strategy/strategy.js';
import { coalitionWeights } from '../../aggregation/contribution/coalition.js';
import { replayTraining, type ReplayGroup } from './replay.js';
import type { RecordRound } from './record.js';

const spec = { strategy: { name: 'fedadam' as const }, robust: undefined };
const modelJson = new TextEncoder().encode('{"modelTopology":{}}');
const D = 12;
const utility = async (w: Float32Array) => -w.reduce((s, x) => s + (x - 1) ** 2, 0);

async function history() {
  const w0 = Float32Array.from({ length: D }, (_, i) => i / D);
  let w: Float32Array = w0;
  let state = initialServerState;
  const rounds: RecordRound[] = [];
  const aggregates = new Map<number, ReplayGroup[]>();
  const hashes = new Map<number, string>();
  for (let r = 1; r <= 3; r++) {
    const groups = [0, 1].map((g) => ({
      mean: Float32Array.from({ length: D }, (_, i) => Math.sin(r * 7 + g * 3 + i) * 0.1),
      weight: 10 * (g + 1),
    }));
    const utilities: number[] = [];
    for (let mask = 0; mask < 4; mask++)
      utilities.push(await utility(coalitionWeights(w, groups, mask)));
    rounds.push({
      round: r,
      budget: '100',
      metric: 'neg_loss',
      utilities,
      groups: groups.map((g, i) => ({
        sumHash: aggregateHash(g.mean),
        members: [{ id: `0x${String(i + 1).padStart(40, '0')}`, weight: g.weight }],
      })),
    });
    aggregates.set(
      r,
      groups.map((g) => ({ sumHash: aggregateHash(g.mean), weight: g.weight, mean: g.mean })),
    );
    const step = strategyFromSpec(spec).aggregateTrain(
      w,
      groups.map((g) => ({ delta: g.mean, weight: g.weight })),
      state,
    );
    w = step.weights;
    state = step.state;
    hashes.set(
      r,
      modelArtifactHash(modelJson, new Uint8Array(w.buffer, w.byteOffset, w.byteLength)),
    );
  }
  return { w0, rounds, aggregates, hashes };
}

describe('replayTraining', () => {
  it('an honest history passes: every version and every utility re-derived', async () => {
    const h = await history();
    const rep = await replayTraining({
      spec,
      initialWeights: h.w0,
      modelJson,
      rounds: h.rounds,
      aggregates: h.aggregates,
      versionHash: async (v) => h.hashes.get(v),
      utility,
    });
    expect(rep.findings).toEqual([]);
    expect([rep.versionsChecked, rep.utilitiesChecked]).toEqual([3, 12]);
  });

  it('names a changed aggregate, a version the strategy does not give, a wrong utility', async () => {
    const h = await history();
    const run = (over: Partial<Parameters<typeof replayTraining>[0]>) =>
      replayTraining({
        spec,
        initialWeights: h.w0,
        modelJson,
        rounds: h.rounds,
        aggregates: h.aggregates,
        versionHash: async (v) => h.hashes.get(v),
        utility,
        ...over,
      });
    const bent = new Map(h.aggregates);
    const g = bent.get(2)![1]!;
    const mean = new Float32Array(g.mean);
    mean[3] = mean[3]! + 1e-3;
    bent.set(2, [bent.get(2)![0]!, { ...g, mean }]);
    const a = await run({ aggregates: bent });
    expect(a.findings.map((f) => [f.kind, f.round, f.group])).toEqual([
      ['AGGREGATE_MISMATCH', 2, 1],
    ]);

    const b = await run({
      versionHash: async (v) => (v === 3 ? '0x' + '1'.repeat(64) : h.hashes.get(v)),
    });
    expect(b.findings.map((f) => [f.kind, f.version])).toEqual([['MODEL_HASH_MISMATCH', 3]]);

    const rounds = structuredClone(h.rounds);
    rounds[0]!.utilities[2] = rounds[0]!.utilities[2]! + 0.01;
    const c = await run({ rounds });
    expect(c.findings.map((f) => [f.kind, f.round, f.coalition])).toEqual([
      ['UTILITY_MISMATCH', 1, 2],
    ]);

    // A plain mean instead of the bounty's FedAdam does not give the versions on chain.
    const d = await run({ spec: { strategy: { name: 'fedavg' as const }, robust: undefined } });
    expect(d.findings[0]).toMatchObject({ kind: 'MODEL_HASH_MISMATCH', version: 1 });
    expect(d.findings.filter((f) => f.kind === 'MODEL_HASH_MISMATCH')).toHaveLength(3);
  });
});
