import { AggregationError } from '../errors.js';

/**
 * Binary frames for stage messages: one byte string per message, so a message with many keys or
 * shares travels as a single Socket.IO attachment (socket.io-parser refuses packets with more than
 * 10 attachments) and is decoded exactly once at the edge.
 *
 * Layout: u32 LE header length, header JSON in which every byte field is replaced by
 * `{ "$b": i }`, then for each byte field i: u32 LE length + bytes. Decoded byte fields are fresh
 * Uint8Arrays (not Buffers, which some libraries refuse, and not unaligned views).
 */
export function encodeFrame(value: unknown): Uint8Array {
  const parts: Uint8Array[] = [];
  const header = Buffer.from(
    JSON.stringify(value, function (this: Record<string, unknown>, k: string, v: unknown) {
      const raw = this[k];
      if (raw instanceof Uint8Array) {
        parts.push(raw);
        return { $b: parts.length - 1 };
      }
      return v;
    }),
  );
  let size = 4 + header.length;
  for (const p of parts) size += 4 + p.byteLength;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32LE(header.length, 0);
  header.copy(out, 4);
  let off = 4 + header.length;
  for (const p of parts) {
    out.writeUInt32LE(p.byteLength, off);
    out.set(p, off + 4);
    off += 4 + p.byteLength;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** A frame that cannot be decoded; a client sees code BAD_MESSAGE. */
export class FrameError extends AggregationError {
  constructor(message: string) {
    super('BAD_MESSAGE', message);
  }
}

/**
 * Bounds a decoder checks before it allocates anything. The largest stage message (unmask: at most
 * 256 + 256 shares and the seeds of dropped neighbours) has about 800 byte fields; a frame of 15 MiB
 * of zero bytes would otherwise decode as about 4 million empty parts.
 */
export interface FrameLimits {
  /** Most byte fields (default 4,096). */
  maxParts?: number;
  /** Most bytes in all byte fields together (default: no bound beyond the frame's own length). */
  maxPartBytes?: number;
  /** Longest header JSON, bytes (default 1 MiB). */
  maxHeaderBytes?: number;
}

export const DEFAULT_FRAME_LIMITS = {
  maxParts: 4096,
  maxPartBytes: Number.MAX_SAFE_INTEGER,
  maxHeaderBytes: 1 << 20,
} as const;

export function decodeFrame<T = unknown>(frame: Uint8Array, limits: FrameLimits = {}): T {
  const { maxParts, maxPartBytes, maxHeaderBytes } = { ...DEFAULT_FRAME_LIMITS, ...limits };
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (b.length < 4) throw new FrameError('frame too short');
  const hl = b.readUInt32LE(0);
  if (hl > maxHeaderBytes) throw new FrameError(`frame header over ${maxHeaderBytes} bytes`);
  if (4 + hl > b.length) throw new FrameError('frame header truncated');
  // First pass: count the parts and their bytes, allocating nothing.
  let count = 0;
  let total = 0;
  for (let off = 4 + hl; off < b.length;) {
    if (off + 4 > b.length) throw new FrameError('frame part truncated');
    const len = b.readUInt32LE(off);
    if (off + 4 + len > b.length) throw new FrameError('frame part truncated');
    if (++count > maxParts) throw new FrameError(`frame has more than ${maxParts} parts`);
    total += len;
    if (total > maxPartBytes) throw new FrameError(`frame parts over ${maxPartBytes} bytes`);
    off += 4 + len;
  }
  const parts: Uint8Array[] = [];
  let off = 4 + hl;
  while (off < b.length) {
    const len = b.readUInt32LE(off);
    // A fresh, aligned Uint8Array (not a Buffer, not an unaligned view): word vectors are read
    // through Uint32Array views, which need 4-byte alignment.
    const part = new Uint8Array(len);
    part.set(b.subarray(off + 4, off + 4 + len));
    parts.push(part);
    off += 4 + len;
  }
  try {
    return JSON.parse(b.subarray(4, 4 + hl).toString('utf8'), (_k, v: unknown) => {
      if (v && typeof v === 'object' && !Array.isArray(v) && '$b' in v) {
        const i = (v as { $b: unknown }).$b;
        if (typeof i !== 'number' || !parts[i]) throw new FrameError('bad byte reference');
        return parts[i];
      }
      return v;
    }) as T;
  } catch (err) {
    if (err instanceof FrameError) throw err;
    throw new FrameError('frame header is not JSON');
  }
}
