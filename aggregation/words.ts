/**
 * Vectors of 32-bit words in WebAssembly linear memory, added and subtracted mod 2^32 with
 * SIMD (four lanes at a time). These two loops, summing vectors and adding keystreams,
 * decide what secure aggregation costs; a plain JS loop runs ~8x slower than this.
 */
import { endianness } from 'node:os';
import type { PrgName } from './defaults.js';
import { check } from './errors.js';
import { keystreamCipher } from './prg.js';
import { WORDS_WASM_BASE64 } from './wasm/words.wasm.js';

check(endianness() === 'LE', 'CONFIG', 'word vectors are little-endian; this host is big-endian');

interface WordsExports {
  memory: WebAssembly.Memory;
  add(dst: number, src: number, n: number): void;
  sub(dst: number, src: number, n: number): void;
}

const wordsModule = new WebAssembly.Module(Buffer.from(WORDS_WASM_BASE64, 'base64'));

/** Bytes of keystream (or input) staged per step: small enough to stay in cache. */
export const CHUNK_BYTES = 64 * 1024;
const CHUNK_WORDS = CHUNK_BYTES / 4;
const PAGE = 64 * 1024;
const ZERO_CHUNK = Buffer.alloc(CHUNK_BYTES);

/**
 * A vector of `length` words mod 2^32 that other vectors and PRG keystreams are added to.
 * Layout of its own linear memory: [staging chunk | the vector, padded to 4 words].
 */
export class WordAccumulator {
  readonly length: number;
  private readonly ex: WordsExports;
  private readonly base = CHUNK_BYTES;
  private readonly paddedWords: number;

  constructor(length: number) {
    check(Number.isInteger(length) && length > 0, 'CONFIG', `bad vector length ${length}`);
    this.length = length;
    this.paddedWords = Math.ceil(length / 4) * 4;
    this.ex = new WebAssembly.Instance(wordsModule).exports as unknown as WordsExports;
    const bytes = CHUNK_BYTES + this.paddedWords * 4;
    const have = this.ex.memory.buffer.byteLength;
    if (bytes > have) this.ex.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /** A live view of the vector (valid until the accumulator is dropped). */
  view(): Uint32Array {
    return new Uint32Array(this.ex.memory.buffer, this.base, this.length);
  }

  /** A copy of the vector. */
  toUint32Array(): Uint32Array {
    return this.view().slice();
  }

  /** The vector as little-endian bytes (a copy). */
  toBytes(): Uint8Array {
    return this.bytesView().slice();
  }

  /**
   * The vector as little-endian bytes without copying: a view of this accumulator's memory,
   * for handing a finished vector on (e.g. to the wire) when nothing will add to it again.
   */
  bytesView(): Uint8Array {
    return new Uint8Array(this.ex.memory.buffer, this.base, this.length * 4);
  }

  set(words: Uint32Array): this {
    check(words.length === this.length, 'VECTOR_LENGTH', `${words.length} != ${this.length}`);
    this.view().set(words);
    return this;
  }

  /** vector += words (or -= with sign -1), mod 2^32. `words` may be a Uint32Array or LE bytes. */
  addWords(words: Uint32Array | Uint8Array, sign: 1 | -1 = 1): this {
    const bytes =
      words instanceof Uint32Array
        ? new Uint8Array(words.buffer, words.byteOffset, words.byteLength)
        : words;
    check(
      bytes.byteLength === this.length * 4,
      'VECTOR_LENGTH',
      `expected ${this.length * 4} bytes, got ${bytes.byteLength}`,
    );
    const mem = new Uint8Array(this.ex.memory.buffer);
    for (let off = 0; off < bytes.byteLength; off += CHUNK_BYTES) {
      const end = Math.min(off + CHUNK_BYTES, bytes.byteLength);
      mem.set(bytes.subarray(off, end), 0);
      this.step(off, end - off, sign);
    }
    return this;
  }

  /**
   * vector += sign * PRG(seed) read as little-endian words, with the round's PRG (prg.ts).
   * The keystream is produced in cache-sized chunks and added while still hot.
   */
  addKeystream(seed: Uint8Array, sign: 1 | -1, prg: PrgName): this {
    const cipher = keystreamCipher(prg, seed);
    const mem = new Uint8Array(this.ex.memory.buffer);
    const total = this.length * 4;
    for (let off = 0; off < total; off += CHUNK_BYTES) {
      const n = Math.min(CHUNK_BYTES, total - off);
      const ks = cipher.update(n === CHUNK_BYTES ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, n));
      mem.set(ks, 0);
      this.step(off, n, sign);
    }
    return this;
  }

  /** Adds the staged chunk (n bytes, at offset 0) into the vector at byte offset `off`. */
  private step(off: number, n: number, sign: 1 | -1): void {
    // Pad to whole SIMD lanes; the padding words past `length` are never read out.
    const words = Math.ceil(n / 16) * 4;
    if (words * 4 > n) new Uint8Array(this.ex.memory.buffer, n, words * 4 - n).fill(0);
    if (sign === 1) this.ex.add(this.base + off, 0, words);
    else this.ex.sub(this.base + off, 0, words);
  }
}

export { CHUNK_WORDS };
