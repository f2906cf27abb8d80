/**
 * libsodium for the SecAgg client and server: the native library (npm `sodium-native`, its
 * prebuilt binding) where this process can load it, else libsodium.js (WebAssembly: browsers,
 * platforms without a prebuild). Same library, same algorithms, same bytes either way; what
 * differs is speed. Measured here, one call:
 *
 * | call                               | native | WebAssembly |
 * | ---------------------------------- | -----: | ----------: |
 * | Ed25519 verify (300-byte message)  |  37 µs |       84 µs |
 * | Ed25519 sign                       |  14 µs |       35 µs |
 * | X25519 (crypto_scalarmult)         |  31 µs |       74 µs |
 *
 * A client checks an Ed25519 signature for every roster entry and for t - 1 confirmations, and
 * does two X25519 agreements per neighbour, every round; the server checks one signature per
 * advertised key set and confirmation. Everything else (hashes, boxes, key pairs) is cheap either
 * way and goes through libsodium.js.
 */
import { createRequire } from 'node:module';
import sodium from 'libsodium-wrappers';

interface NativeSodium {
  crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean;
  crypto_sign_detached(sig: Uint8Array, msg: Uint8Array, sk: Uint8Array): void;
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
}

function loadNative(): NativeSodium | undefined {
  try {
    return createRequire(import.meta.url)('sodium-native') as NativeSodium;
  } catch {
    return undefined;
  }
}

const native = loadNative();

/** Which implementation the hot calls use (tests and benchmarks report it). */
export const sodiumBackend: 'sodium-native' | 'libsodium.js' = native
  ? 'sodium-native'
  : 'libsodium.js';

/** libsodium.js must be initialised before any call (its WebAssembly loads asynchronously). */
export async function sodiumReady(): Promise<void> {
  await sodium.ready;
}

export { sodium };

/** crypto_sign_verify_detached: false on a bad signature (lengths are the caller's to check). */
export function signVerifyDetached(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (native) return native.crypto_sign_verify_detached(signature, message, publicKey);
  return sodium.crypto_sign_verify_detached(signature, message, publicKey);
}

/** crypto_sign_detached: a 64-byte Ed25519 signature under a 64-byte libsodium secret key. */
export function signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (!native) return sodium.crypto_sign_detached(message, secretKey);
  const sig = new Uint8Array(64);
  native.crypto_sign_detached(sig, message, secretKey);
  return sig;
}

/** crypto_scalarmult (X25519); throws when the peer key is of small order (an all-zero result). */
export function scalarmult(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (!native) return sodium.crypto_scalarmult(secretKey, publicKey);
  const q = new Uint8Array(32);
  native.crypto_scalarmult(q, secretKey, publicKey);
  return q;
}
