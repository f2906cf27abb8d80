/**
 * Key agreement, seed derivation and share encryption (Bonawitz et al. 2017, §4: "AdvertiseKeys"
 * and "ShareKeys"). Each client holds two X25519 key pairs: c for encrypting shares to its
 * neighbours (XSalsa20-Poly1305 under a key hashed from the pair's agreement), s for agreeing
 * pairwise mask seeds. Seeds are hashed with the round and group so that keys reused across
 * rounds never reuse a mask. libsodium throughout (sodium.ts: the native library for X25519
 * where it loads).
 */
import { check, fail } from '../errors.js';
import { scalarmult, sodium } from './sodium.js';
import type { ClientId, GroupId, RoundId, Seed } from '../types.js';

export { sodiumReady } from './sodium.js';

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/**
 * Random bytes from the platform's CSPRNG (WebCrypto, in Node and in browsers). libsodium.js's
 * randombytes_buf reaches the same source through its Emscripten layer at about 50 µs a call,
 * against about 2 µs here; a client draws a nonce per share it seals.
 */
export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** An X25519 key pair, as crypto_box_keypair makes it (a random scalar and its base multiple). */
export function generateKeyPair(): KeyPair {
  const secretKey = randomBytes(sodium.crypto_box_SECRETKEYBYTES);
  return { publicKey: sodium.crypto_scalarmult_base(secretKey), secretKey };
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return sodium.crypto_scalarmult_base(secretKey);
}

/**
 * X25519(secret, peer): crypto_scalarmult; refuses (PROTOCOL_VIOLATION) a peer key of small
 * order, whose agreement would be all zeros.
 */
export function x25519(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  try {
    return scalarmult(secretKey, peerPublicKey);
  } catch {
    fail('PROTOCOL_VIOLATION', 'X25519 with a peer key of small order');
  }
}

export function randomSeed(): Seed {
  return randomBytes(32);
}

const enc = new TextEncoder();

function context(label: string, round: RoundId, group: GroupId, ...parts: string[]): Uint8Array {
  return enc.encode([`tributary/${label}/v1`, round, group, ...parts].join('\u0000'));
}

/** Commitment to a self-mask seed, published with the keys and checked after reconstruction. */
export function commitSeed(
  seed: Seed,
  round: RoundId,
  group: GroupId,
  client: ClientId,
): Uint8Array {
  const ctx = context('b-commit', round, group, client);
  const msg = new Uint8Array(ctx.length + seed.length);
  msg.set(ctx);
  msg.set(seed, ctx.length);
  return sodium.crypto_generichash(32, msg, null);
}

/**
 * The pairwise mask seed s_ij = H(X25519(s_i, S_j) || round || group || min(i,j) || max(i,j)).
 * Both ends compute the same value; so does the server once it reconstructs s_j of a dropout.
 */
export function pairSeed(
  secretKey: Uint8Array,
  peerPublicKey: Uint8Array,
  round: RoundId,
  group: GroupId,
  a: ClientId,
  b: ClientId,
): Seed {
  const shared = x25519(secretKey, peerPublicKey);
  const [lo, hi] = a < b ? [a, b] : [b, a];
  const ctx = context('pair', round, group, lo, hi);
  const msg = new Uint8Array(shared.length + ctx.length);
  msg.set(shared);
  msg.set(ctx, shared.length);
  return sodium.crypto_generichash(32, msg, null);
}

/** +1 when `self` adds the pair's mask, -1 when it subtracts it: the two cancel in a sum. */
export function pairSign(self: ClientId, peer: ClientId): 1 | -1 {
  return self < peer ? 1 : -1;
}

/**
 * The bytes a client signs (with its certified Ed25519 key, identity.ts) to vouch for its
 * advertised keys; they name the signing key too, so an entry cannot be moved under another one.
 */
export function keysPayload(m: {
  round: RoundId;
  group: GroupId;
  client: ClientId;
  cPk: Uint8Array;
  sPk: Uint8Array;
  bCommit: Uint8Array;
  cert?: { key: Uint8Array };
}): Uint8Array {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  return enc.encode(
    [
      'tributary-keys/v2',
      m.round,
      m.group,
      m.client,
      hex(m.cPk),
      hex(m.sPk),
      hex(m.bCommit),
      m.cert ? hex(m.cert.key) : '',
    ].join('\n'),
  );
}

/** The bytes a survivor signs at the consistency check: the unmask request it was shown. */
export function consistencyPayload(r: {
  round: RoundId;
  group: GroupId;
  survivors: readonly ClientId[];
  dropped: readonly ClientId[];
  excluded: readonly ClientId[];
}): Uint8Array {
  const list = (xs: readonly ClientId[]) => [...xs].sort().join(',');
  return enc.encode(
    [
      'tributary-survivors/v1',
      r.round,
      r.group,
      list(r.survivors),
      list(r.dropped),
      list(r.excluded),
    ].join('\n'),
  );
}

/** A share addressed from one client to another, as it travels inside a box. */
export interface SharePlaintext {
  from: ClientId;
  to: ClientId;
  bShare: Uint8Array;
  sShare: Uint8Array;
}

/** Binary layout: u8 version | u16 len + from | u16 len + to | u8 len + bShare | u8 len + sShare. */
export function encodeSharePlaintext(p: SharePlaintext): Uint8Array {
  const from = enc.encode(p.from);
  const to = enc.encode(p.to);
  check(from.length < 65536 && to.length < 65536, 'BAD_MESSAGE', 'client id too long');
  check(p.bShare.length < 256 && p.sShare.length < 256, 'BAD_MESSAGE', 'share too long');
  const out = new Uint8Array(
    1 + 2 + from.length + 2 + to.length + 2 + p.bShare.length + p.sShare.length,
  );
  const dv = new DataView(out.buffer);
  let o = 0;
  out[o++] = 1;
  dv.setUint16(o, from.length);
  out.set(from, (o += 2));
  o += from.length;
  dv.setUint16(o, to.length);
  out.set(to, (o += 2));
  o += to.length;
  out[o++] = p.bShare.length;
  out.set(p.bShare, o);
  o += p.bShare.length;
  out[o++] = p.sShare.length;
  out.set(p.sShare, o);
  return out;
}

export function decodeSharePlaintext(bytes: Uint8Array): SharePlaintext {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder('utf-8', { fatal: true });
  let o = 0;
  const need = (n: number) =>
    check(o + n <= bytes.length, 'BAD_SHARE', 'share plaintext truncated');
  need(1);
  check(bytes[o++] === 1, 'BAD_SHARE', 'unknown share plaintext version');
  const str = () => {
    need(2);
    const n = dv.getUint16(o);
    o += 2;
    need(n);
    const s = dec.decode(bytes.subarray(o, o + n));
    o += n;
    return s;
  };
  const blob = () => {
    need(1);
    const n = bytes[o++]!;
    need(n);
    const b = bytes.slice(o, o + n);
    o += n;
    return b;
  };
  try {
    const from = str();
    const to = str();
    const bShare = blob();
    const sShare = blob();
    check(o === bytes.length, 'BAD_SHARE', 'trailing bytes after share plaintext');
    return { from, to, bShare, sShare };
  } catch (e) {
    if (e instanceof TypeError) fail('BAD_SHARE', 'share plaintext is not valid UTF-8');
    throw e;
  }
}

/**
 * The box key of a pair: BLAKE2b-256 over their X25519 agreement and both public keys in byte
 * order (as libsodium's crypto_kx derives session keys), done once per neighbour, so that sealing
 * and opening its shares is symmetric encryption only. Both ends derive the same key.
 */
export function boxKey(peerPk: Uint8Array, me: KeyPair): Uint8Array {
  const shared = x25519(me.secretKey, peerPk);
  const [lo, hi] =
    Buffer.compare(me.publicKey, peerPk) < 0 ? [me.publicKey, peerPk] : [peerPk, me.publicKey];
  const msg = new Uint8Array(96);
  msg.set(shared);
  msg.set(lo, 32);
  msg.set(hi, 64);
  return sodium.crypto_generichash(32, msg, null);
}

/** nonce || XSalsa20-Poly1305(plaintext) under the pair's box key (see boxKey). */
export function sealShareWith(p: SharePlaintext, key: Uint8Array): Uint8Array {
  const nonce = randomBytes(sodium.crypto_secretbox_NONCEBYTES);
  const box = sodium.crypto_secretbox_easy(encodeSharePlaintext(p), nonce, key);
  const out = new Uint8Array(nonce.length + box.length);
  out.set(nonce);
  out.set(box, nonce.length);
  return out;
}

export function openShareWith(ciphertext: Uint8Array, key: Uint8Array): SharePlaintext {
  const n = sodium.crypto_secretbox_NONCEBYTES;
  check(
    ciphertext.length > n + sodium.crypto_secretbox_MACBYTES,
    'BAD_SHARE',
    'ciphertext too short',
  );
  let plain: Uint8Array;
  try {
    plain = sodium.crypto_secretbox_open_easy(
      new Uint8Array(ciphertext.subarray(n)),
      new Uint8Array(ciphertext.subarray(0, n)),
      key,
    );
  } catch {
    fail('BAD_SHARE', 'share does not decrypt under the sender and recipient keys');
  }
  return decodeSharePlaintext(plain);
}

/** Opens a share with the X25519 agreement done on the spot (see boxKey for the cached form). */
export function openShare(
  ciphertext: Uint8Array,
  senderPk: Uint8Array,
  recipient: KeyPair,
): SharePlaintext {
  return openShareWith(ciphertext, boxKey(senderPk, recipient));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && sodium.memcmp(new Uint8Array(a), new Uint8Array(b));
}
