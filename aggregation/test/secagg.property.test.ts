/**
 * For any inputs and any dropout pattern at stages 2, 3 or 4: if every secret the server needs
 * still has >= t shares, the unmasked sum equals the plain sum mod 2^32 of exactly the inputs the
 * model predicts (a masked input whose self-mask fewer than t masked-input senders hold is left
 * out at stage 3, and the neighbours reveal the pair seeds they shared with it); otherwise the
 * group fails with BELOW_THRESHOLD. It never returns a wrong sum, under either mask PRG.
 */
import fc from 'fast-check';
import {
  AggregationError,
  PRG_NAMES,
  defaultGroupParams,
  neighbourGraph,
  runSecAggInProcess,
  sumWords,
} from '../index.js';

const ids = (n: number) =>
  Array.from({ length: n }, (_, i) => `client-${String(i).padStart(4, '0')}`);

/**
 * Whether the protocol can finish, from the public graph and the dropout sets, and which inputs
 * are then in the sum.
 */
function expectSuccess(
  n: number,
  k: number,
  t: number,
  d2: Set<number>,
  d3: Set<number>,
  d4: Set<number>,
): { ok: boolean; summed: Set<number> } {
  const all = ids(n);
  const graph = neighbourGraph(all, k, 'round', 'group');
  const idx = new Map(all.map((id, i) => [id, i]));
  const u2 = all.filter((_, i) => !d2.has(i));
  const u3 = u2.filter((id) => !d3.has(idx.get(id)!));
  const u2s = new Set(u2);
  const no = { ok: false, summed: new Set<number>() };
  if (u2.length < t || u3.length < t) return no;
  for (const i of u3) {
    if (graph.get(i)!.filter((j) => u2s.has(j)).length + 1 < t) return no; // client refuses to mask
  }
  // Stage 3 close: leave out, to a fixpoint, inputs fewer than t summed senders hold shares of.
  const out = new Set<string>();
  for (let changed = true; changed;) {
    changed = false;
    for (const i of u3) {
      if (out.has(i)) continue;
      if ([i, ...graph.get(i)!].filter((h) => u3.includes(h) && !out.has(h)).length < t) {
        out.add(i);
        changed = true;
      }
    }
  }
  const summed = u3.filter((id) => !out.has(id));
  if (summed.length < t) return no;
  const u4 = new Set(summed.filter((id) => !d4.has(idx.get(id)!)));
  for (const i of summed) {
    if ([i, ...graph.get(i)!].filter((j) => u4.has(j)).length < t) return no; // b_i unrecoverable
  }
  for (const j of u2.filter((id) => !u3.includes(id))) {
    if (graph.get(j)!.filter((i) => u4.has(i)).length < t) return no; // s_j unrecoverable
  }
  for (const e of out) {
    // every summed neighbour of a left-out input must reveal their pair seed at stage 4
    if (graph.get(e)!.some((j) => summed.includes(j) && !u4.has(j))) return no;
  }
  return { ok: true, summed: new Set(summed.map((id) => idx.get(id)!)) };
}

const scenario = fc
  .record({
    n: fc.integer({ min: 3, max: 11 }),
    dim: fc.integer({ min: 1, max: 40 }),
    sparse: fc.boolean(),
    seed: fc.integer(),
    prg: fc.constantFrom(...PRG_NAMES),
  })
  .chain(({ n, dim, sparse, seed, prg }) =>
    fc.record({
      n: fc.constant(n),
      prg: fc.constant(prg),
      sparse: fc.constant(sparse),
      inputs: fc.array(
        fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: dim, maxLength: dim }),
        {
          minLength: n,
          maxLength: n,
        },
      ),
      // each client: 0 stays, 2/3/4 drops before finishing that stage
      stageOfDrop: fc.array(fc.constantFrom(0, 0, 0, 2, 3, 4), { minLength: n, maxLength: n }),
      seed: fc.constant(seed),
    }),
  );

describe('SecAgg+ under dropouts (property)', () => {
  it('the unmasked sum equals the plain sum mod 2^32, or the group fails with a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ n, sparse, inputs, stageOfDrop, prg }) => {
        const def = defaultGroupParams(n);
        // A sparse graph needs an even k < n - 1; fall back to the complete graph for tiny groups.
        const k = sparse && n >= 6 ? ((n - 2) % 2 === 0 ? n - 2 : n - 3) : def.neighbours;
        const t = Math.floor((k + 1) / 2) + 1;
        const at = (s: number) => stageOfDrop.flatMap((d, i) => (d === s ? [i] : []));
        const d2 = new Set(at(2));
        const d3 = new Set(at(3));
        const d4 = new Set(at(4));
        const vectors = inputs.map((v) => Uint32Array.from(v));
        const { ok, summed } = expectSuccess(n, k, t, d2, d3, d4);
        let result;
        try {
          result = await runSecAggInProcess(vectors, {
            neighbours: k,
            threshold: t,
            prg,
            dropAfterAdvertise: [...d2],
            dropAfterShare: [...d3],
            dropAfterMasked: [...d4],
          });
        } catch (e) {
          expect(e).toBeInstanceOf(AggregationError);
          expect((e as AggregationError).code).toBe('BELOW_THRESHOLD');
          expect(ok).toBe(false);
          return;
        }
        expect(ok).toBe(true);
        const included = vectors.filter((_, i) => summed.has(i));
        expect(result.sum).toEqual(sumWords(included));
        expect(result.included.length).toBe(included.length);
        expect(result.dropped.length).toBe(d3.size);
        expect(result.excluded.length).toBe(n - d2.size - d3.size - summed.size);
      }),
      { numRuns: 120 },
    );
  });

  it('complete graph: succeeds exactly when every stage keeps >= t members', async () => {
    const n = 7;
    const { neighbours, threshold } = defaultGroupParams(n); // k = 6, t = 4
    expect(neighbours).toBe(6);
    const inputs = Array.from({ length: n }, (_, i) =>
      Uint32Array.from([i, 2 ** 32 - 1, 12345 * i]),
    );
    const r = await runSecAggInProcess(inputs, { dropAfterShare: [0, 1], dropAfterMasked: [2] });
    expect(r.sum).toEqual(sumWords(inputs.slice(2)));
    await expect(
      runSecAggInProcess(inputs, { dropAfterShare: [0, 1], dropAfterMasked: [2, 3] }),
    ).rejects.toMatchObject({
      code: 'BELOW_THRESHOLD',
    });
    expect(threshold).toBe(4);
  });
});
