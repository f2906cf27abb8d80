/**
 * Canonical encoding of a sponsor's validation set; its keccak256 is the hash the bounty carries on
 * chain. Layout: "TVS1", u32 LE header length, header JSON { n, shape, classes }, x as float32 LE
 * (n * prod(shape) values), y as int32 LE class labels (n values).
 */
import { keccak256 } from 'ethers';
import { ProtocolError } from '../errors.js';

export interface ValidationSet {
  /** Shape of one example, e.g. [784]. */
  shape: number[];
  classes: number;
  x: Float32Array;
  y: Int32Array;
}

const MAGIC = Buffer.from('TVS1');

export function encodeValidation(v: ValidationSet): Buffer {
  const n = v.y.length;
  const header = Buffer.from(JSON.stringify({ n, shape: v.shape, classes: v.classes }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  return Buffer.concat([
    MAGIC,
    len,
    header,
    Buffer.from(v.x.buffer, v.x.byteOffset, v.x.byteLength),
    Buffer.from(v.y.buffer, v.y.byteOffset, v.y.byteLength),
  ]);
}

export function decodeValidation(buf: Uint8Array): ValidationSet {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (why: string) => new ProtocolError('BAD_REQUEST', `validation set: ${why}`);
  if (b.length < 8 || !b.subarray(0, 4).equals(MAGIC)) throw bad('bad magic');
  const hl = b.readUInt32LE(4);
  if (8 + hl > b.length) throw bad('truncated header');
  let h: { n: number; shape: number[]; classes: number };
  try {
    h = JSON.parse(b.subarray(8, 8 + hl).toString('utf8')) as typeof h;
  } catch {
    throw bad('header is not JSON');
  }
  if (
    !Number.isInteger(h.n) ||
    h.n <= 0 ||
    !Array.isArray(h.shape) ||
    !h.shape.every((d) => Number.isInteger(d) && d > 0) ||
    !Number.isInteger(h.classes) ||
    h.classes < 2
  ) {
    throw bad('bad header');
  }
  const per = h.shape.reduce((a, c) => a * c, 1);
  const xBytes = h.n * per * 4;
  if (b.length !== 8 + hl + xBytes + h.n * 4) throw bad('length does not match header');
  const body = new Uint8Array(b.length - 8 - hl);
  body.set(b.subarray(8 + hl));
  return {
    shape: h.shape,
    classes: h.classes,
    x: new Float32Array(body.buffer, 0, h.n * per),
    y: new Int32Array(body.buffer, xBytes, h.n),
  };
}

export function validationHash(encoded: Uint8Array): string {
  return keccak256(encoded);
}
