/**
 * The bytes a sponsor hashes onto the chain, built in the browser: the validation set's canonical
 * encoding ("TVS1", u32 LE header length, header JSON { n, shape, classes }, x float32 LE, y int32
 * LE) and the spec's canonical JSON, exactly as aggregation/spec.ts builds them with Buffer in
 * Node (encode.test.ts checks the two byte for byte). Base64 for the POST /bounties body.
 */
import { keccak256, toUtf8Bytes } from 'ethers';
import { canonicalJson } from '../../../aggregation/canonical.js';
import type { BountySpec } from '../../../aggregation/spec.js';

export interface ValidationInput {
  shape: number[];
  classes: number;
  x: Float32Array;
  y: Int32Array;
}

/** Typed arrays are little-endian on every platform a browser runs on (checked once here). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function encodeValidationBytes(v: ValidationInput): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('this platform is big-endian; use tributary bounty create');
  const n = v.y.length;
  const per = v.shape.reduce((a, c) => a * c, 1);
  if (v.x.length < n * per)
    throw new Error(`validation x has ${v.x.length} values, needs ${n * per}`);
  const header = toUtf8Bytes(JSON.stringify({ n, shape: v.shape, classes: v.classes }));
  const out = new Uint8Array(8 + header.length + n * per * 4 + n * 4);
  out.set([0x54, 0x56, 0x53, 0x31]); // "TVS1"
  new DataView(out.buffer).setUint32(4, header.length, true);
  out.set(header, 8);
  const x = v.x.subarray(0, n * per);
  out.set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), 8 + header.length);
  out.set(new Uint8Array(v.y.buffer, v.y.byteOffset, n * 4), 8 + header.length + x.byteLength);
  return out;
}

export const validationHashOf = (bytes: Uint8Array): string => keccak256(bytes);

export const specHashOf = (spec: BountySpec): string => keccak256(toUtf8Bytes(canonicalJson(spec)));

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}
