/**
 * The protocol's PRG: ChaCha20 keystream under the full 256-bit seed (zero nonce, counter 0),
 * read as little-endian 32-bit words. Node's built-in ChaCha20 is several times faster than
 * libsodium's wasm build, so mask expansion uses it; seeds are already domain-separated by
 * the key derivation (see secagg/keys.ts).
 */
import { createCipheriv } from 'node:crypto';
import { check } from './errors.js';
import type { Seed } from './types.js';

/** `length` words of keystream from `seed`. */
export function prgWords(seed: Seed, length: number): Uint32Array {
  check(seed.length === 32, 'CONFIG', 'a PRG seed is 32 bytes');
  const cipher = createCipheriv('chacha20', seed, Buffer.alloc(16));
  const bytes = cipher.update(Buffer.alloc(length * 4));
  return new Uint32Array(bytes.buffer, bytes.byteOffset, length).slice();
}
