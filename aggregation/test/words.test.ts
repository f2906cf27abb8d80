import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { prgWords, WordAccumulator } from '../index.js';
import { compileWords } from '../wasm/build.js';
import { WORDS_WASM_BASE64 } from '../wasm/words.wasm.js';

describe('WordAccumulator (SIMD add mod 2^32)', () => {
  it('the embedded module is the compiled words.wat', async () => {
    expect(Buffer.from(await compileWords()).toString('base64')).toBe(WORDS_WASM_BASE64);
  });

  it('adds and subtracts keystreams and vectors exactly like the scalar reference', () => {
    fc.assert(
      fc.property(
        // lengths around the 16 Ki-word chunk and the 4-word SIMD lane edges
        fc.oneof(
          fc.integer({ min: 1, max: 70 }),
          fc.integer({ min: 16380, max: 16390 }),
          fc.constant(40000),
        ),
        fc.integer(),
        (len, seedInt) => {
          const seedA = randomBytes(32);
          const seedB = randomBytes(32);
          const x = new Uint32Array(len).map((_, i) => (i * 2654435761 + seedInt) >>> 0);
          const acc = new WordAccumulator(len).set(x);
          acc
            .addKeystream(seedA, 1)
            .addKeystream(seedB, -1)
            .addWords(x, 1)
            .addWords(new Uint8Array(x.buffer), -1);
          const a = prgWords(seedA, len);
          const b = prgWords(seedB, len);
          const want = x.map((v, i) => (v + a[i]! - b[i]!) >>> 0);
          expect(acc.toUint32Array()).toEqual(want);
          expect(Buffer.from(acc.toBytes())).toEqual(Buffer.from(want.buffer));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('rejects vectors of the wrong length', () => {
    const acc = new WordAccumulator(10);
    expect(() => acc.addWords(new Uint32Array(9))).toThrow(
      expect.objectContaining({ code: 'VECTOR_LENGTH' }),
    );
    expect(() => acc.addWords(new Uint8Array(41))).toThrow(
      expect.objectContaining({ code: 'VECTOR_LENGTH' }),
    );
  });
});
