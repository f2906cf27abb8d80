import fc from 'fast-check';
import { createCipheriv, randomBytes } from 'node:crypto';
import { PRG_NAMES, prgWords, SecAggClient, WordAccumulator, type PrgName } from '../index.js';
import { compileWords } from '../wasm/build.js';
import { WORDS_WASM_BASE64 } from '../wasm/words.wasm.js';

const hex = (w: Uint32Array) => Buffer.from(w.buffer, w.byteOffset, w.byteLength).toString('hex');

describe('the mask PRGs (known answers)', () => {
  const zero = new Uint8Array(32);

  it('aes-128-ctr: AES-128 under the first 16 seed bytes, counter blocks 0, 1, 2, ...', () => {
    // E(0^128, 0), E(0^128, 1), E(0^128, 2): H, E(K, Y0) of GCM test case 1 and C of test case 2
    // (McGrew and Viega, The Galois/Counter Mode of Operation, appendix B).
    expect(hex(prgWords(zero, 12, 'aes-128-ctr'))).toBe(
      '66e94bd4ef8a2c3b884cfa59ca342b2e' +
        '58e2fccefa7e3061367f1d57a4e7455a' +
        '0388dace60b6a392f328c2b971b2fe78',
    );
  });

  it('chacha20: the whole seed as key, nonce 0, block counter 0', () => {
    // RFC 8439 appendix A.1, test vector #1 (all-zero key and nonce, block counter 0).
    expect(hex(prgWords(zero, 16, 'chacha20'))).toBe(
      '76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7' +
        'da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586',
    );
  });

  it.each([
    [
      'aes-128-ctr',
      (s: Buffer) => createCipheriv('aes-128-ctr', s.subarray(0, 16), Buffer.alloc(16)),
    ],
    ['chacha20', (s: Buffer) => createCipheriv('chacha20', s, Buffer.alloc(16))],
  ] as const)('%s: equals node:crypto for random seeds and lengths', (prg, cipher) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20000 }), (len) => {
        const seed = randomBytes(32);
        const want = cipher(seed).update(Buffer.alloc(len * 4));
        expect(Buffer.from(new WordAccumulator(len).addKeystream(seed, 1, prg).toBytes())).toEqual(
          want,
        );
        expect(hex(prgWords(seed, len, prg))).toBe(want.toString('hex'));
      }),
      { numRuns: 12 },
    );
  });

  it('the two PRGs give unrelated streams from one seed', () => {
    const seed = randomBytes(32);
    expect(hex(prgWords(seed, 8, 'aes-128-ctr'))).not.toBe(hex(prgWords(seed, 8, 'chacha20')));
  });

  it('an unknown PRG or a short seed is a CONFIG error', () => {
    const bad = 'aes-256-ctr' as PrgName;
    expect(() => prgWords(new Uint8Array(32), 4, bad)).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    expect(() => new WordAccumulator(4).addKeystream(new Uint8Array(16), 1, 'chacha20')).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    const params = { round: 'r', group: 'g', dim: 4, neighbours: 2, threshold: 2, prg: bad };
    expect(() => new SecAggClient('a', params)).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
  });
});

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
        fc.constantFrom(...PRG_NAMES),
        (len, seedInt, prg) => {
          const seedA = randomBytes(32);
          const seedB = randomBytes(32);
          const x = new Uint32Array(len).map((_, i) => (i * 2654435761 + seedInt) >>> 0);
          const acc = new WordAccumulator(len).set(x);
          acc
            .addKeystream(seedA, 1, prg)
            .addKeystream(seedB, -1, prg)
            .addWords(x, 1)
            .addWords(new Uint8Array(x.buffer), -1);
          const a = prgWords(seedA, len, prg);
          const b = prgWords(seedB, len, prg);
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
