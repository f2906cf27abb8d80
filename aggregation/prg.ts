/**
 * The protocol's mask PRGs: a 32-byte seed expanded into keystream read as little-endian 32-bit
 * words, by the cipher the bounty's spec names (BountySpec.prg, carried to every member in
 * RoundStart's group):
 *
 * - `aes-128-ctr`: key = the seed's first 16 bytes; counter block 0, incremented as one 128-bit
 *   big-endian integer (Web Crypto's AES-CTR with `length: 128` gives the same stream).
 * - `chacha20`: key = the whole seed; nonce 0, block counter 0 (RFC 8439; Node's 16-byte IV is
 *   counter || nonce, little-endian).
 *
 * Why this keeps 128-bit security:
 * - Keys are uniform: a self-mask seed b_i is 32 random bytes, a pair seed s_ij is BLAKE2b-256 of
 *   an X25519 secret (secagg/keys.ts), so any 16 of its bytes are a uniform 128-bit AES key (key
 *   search 2^128, or 2^128 / N for one of N keys at once, as for any 128-bit key).
 * - No key is used twice, so the fixed IV is safe (the key is what is never repeated): b_i is
 *   drawn fresh for each round and group, s_ij hashes the round, the group and the pair into the
 *   seed and the s key pairs are fresh each round; one round uses one PRG for all its masks.
 * - Within one expansion the counter never wraps: a vector lives in 32-bit WebAssembly memory
 *   (< 4 GiB), against 2^128 AES blocks and 2^32 ChaCha20 blocks of 64 bytes (256 GiB).
 * - A block-cipher CTR stream differs from random only by never repeating a 16-byte block:
 *   advantage <= q^2 / 2^129 for q blocks, 2^-93 for a 4 MiB mask and 2^-73 at the 4 GiB limit.
 *   ChaCha20, a PRF, has no such term.
 */
import { createCipheriv, type Cipher } from 'node:crypto';
import { PRG_NAMES, type PrgName } from './defaults.js';
import { check } from './errors.js';
import type { Seed } from './types.js';

const IV = Buffer.alloc(16);

/** A cipher whose update() of zero bytes yields `prg`'s keystream under `seed`, in order. */
export function keystreamCipher(prg: PrgName, seed: Uint8Array): Cipher {
  check(seed.length === 32, 'CONFIG', 'a PRG seed is 32 bytes');
  check(PRG_NAMES.includes(prg), 'CONFIG', `unknown PRG ${String(prg)}`);
  return prg === 'aes-128-ctr'
    ? createCipheriv('aes-128-ctr', seed.subarray(0, 16), IV)
    : createCipheriv('chacha20', seed, IV);
}

/** `length` words of `prg`'s keystream from `seed`. */
export function prgWords(seed: Seed, length: number, prg: PrgName): Uint32Array {
  const bytes = keystreamCipher(prg, seed).update(Buffer.alloc(length * 4));
  return new Uint32Array(bytes.buffer, bytes.byteOffset, length).slice();
}
