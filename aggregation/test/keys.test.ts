/**
 * Key pairs and random bytes of the SecAgg client (secagg/keys.ts): the X25519 pair is a scalar
 * and its base multiple, as crypto_box_keypair makes it, so box keys and pair seeds agree at both
 * ends; nonces and seeds do not repeat.
 */
import sodium from 'libsodium-wrappers';
import {
  boxKey,
  generateKeyPair,
  openShareWith,
  pairSeed,
  publicKeyOf,
  randomBytes,
  randomSeed,
  sealShareWith,
  sodiumReady,
  x25519,
} from '../secagg/keys.js';
import { scalarmult, signDetached, signVerifyDetached, sodiumBackend } from '../secagg/sodium.js';

beforeAll(sodiumReady);

describe('secagg keys', () => {
  it('makes X25519 pairs whose public half is the base multiple of the secret one', () => {
    for (let i = 0; i < 20; i++) {
      const kp = generateKeyPair();
      expect(kp.secretKey).toHaveLength(32);
      expect(Buffer.from(kp.publicKey)).toEqual(Buffer.from(publicKeyOf(kp.secretKey)));
      expect(Buffer.from(kp.publicKey)).toEqual(
        Buffer.from(sodium.crypto_scalarmult_base(kp.secretKey)),
      );
    }
  });

  it('agrees on pair seeds and box keys from both ends', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const seedA = pairSeed(a.secretKey, b.publicKey, 'r', 'g', 'alice', 'bob');
    const seedB = pairSeed(b.secretKey, a.publicKey, 'r', 'g', 'bob', 'alice');
    expect(Buffer.from(seedA)).toEqual(Buffer.from(seedB));
    // The agreement is crypto_scalarmult, native or WebAssembly.
    expect(Buffer.from(x25519(a.secretKey, b.publicKey))).toEqual(
      Buffer.from(sodium.crypto_scalarmult(a.secretKey, b.publicKey)),
    );
    const share = { from: 'alice', to: 'bob', bShare: randomBytes(33), sShare: randomBytes(33) };
    const opened = openShareWith(
      sealShareWith(share, boxKey(b.publicKey, a)),
      boxKey(a.publicKey, b),
    );
    expect(opened.from).toBe('alice');
    expect(Buffer.from(opened.bShare)).toEqual(Buffer.from(share.bShare));
    // A third party's key pair does not open it.
    expect(() =>
      openShareWith(
        sealShareWith(share, boxKey(b.publicKey, a)),
        boxKey(a.publicKey, generateKeyPair()),
      ),
    ).toThrow(/does not decrypt/);
  });

  it('matches crypto_scalarmult on any 32 bytes and refuses small-order peer keys', () => {
    const a = generateKeyPair();
    for (let i = 0; i < 50; i++) {
      const peer = randomBytes(32); // any u-coordinate, the top bit too
      expect(Buffer.from(x25519(a.secretKey, peer))).toEqual(
        Buffer.from(sodium.crypto_scalarmult(a.secretKey, peer)),
      );
    }
    for (const small of [
      new Uint8Array(32),
      Uint8Array.from({ length: 32 }, (_, k) => (k ? 0 : 1)),
    ]) {
      expect(() => x25519(a.secretKey, small)).toThrow(/small order/);
    }
  });

  it('draws fresh bytes on every call (seeds, nonces, secret keys)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      seen.add(Buffer.from(randomSeed()).toString('hex'));
      seen.add(Buffer.from(randomBytes(24)).toString('hex'));
      seen.add(Buffer.from(generateKeyPair().secretKey).toString('hex'));
    }
    expect(seen.size).toBe(1500);
  });
});

describe('sodium.ts', () => {
  it('loads the native libsodium here, and it answers as libsodium.js does', () => {
    expect(sodiumBackend).toBe('sodium-native');
    const kp = sodium.crypto_sign_keypair();
    for (let i = 0; i < 50; i++) {
      const msg = randomBytes(i * 7);
      const sig = signDetached(msg, kp.privateKey);
      expect(Buffer.from(sig)).toEqual(
        Buffer.from(sodium.crypto_sign_detached(msg, kp.privateKey)),
      );
      expect(signVerifyDetached(sig, msg, kp.publicKey)).toBe(true);
      const bad = Uint8Array.from(sig);
      bad[i % 64]! ^= 1;
      expect(signVerifyDetached(bad, msg, kp.publicKey)).toBe(false);
      expect(sodium.crypto_sign_verify_detached(bad, msg, kp.publicKey)).toBe(false);
      const sk = randomBytes(32);
      const pk = randomBytes(32);
      expect(Buffer.from(scalarmult(sk, pk))).toEqual(
        Buffer.from(sodium.crypto_scalarmult(sk, pk)),
      );
    }
  });
});
