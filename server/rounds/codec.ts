/**
 * Storage form of stage messages. Small messages (keys, shares, unmask shares) are JSON with bytes
 * as base64; a masked input is stored as its raw vector bytes, everything else about it being
 * implied by the row (round, group, sender).
 */
export function encodeStored(msg: unknown): Buffer {
  // The holder's own value, not `v`: JSON.stringify has already applied Buffer#toJSON to `v`.
  return Buffer.from(
    JSON.stringify(msg, function (this: Record<string, unknown>, k: string, v: unknown) {
      const raw = this[k];
      return raw instanceof Uint8Array ? { $b: Buffer.from(raw).toString('base64') } : v;
    }),
  );
}

export function decodeStored<T>(buf: Buffer): T {
  return JSON.parse(buf.toString('utf8'), (_k, v: unknown) => {
    if (v && typeof v === 'object' && '$b' in v && typeof (v as { $b: unknown }).$b === 'string') {
      return new Uint8Array(Buffer.from((v as { $b: string }).$b, 'base64'));
    }
    return v;
  }) as T;
}

/**
 * A copy of a Buffer as a plain, aligned Uint8Array (some libraries reject Buffers; word vectors
 * are read through Uint32Array views). Copied with Buffer#copy, which also accepts buffers made
 * in another realm (the pg driver's, under Jest).
 */
export function plainBytes(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.byteLength);
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).copy(Buffer.from(out.buffer));
  return out;
}
