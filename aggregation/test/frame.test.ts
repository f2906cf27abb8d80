import { decodeFrame, encodeFrame, FrameError } from '../index.js';

describe('binary frames', () => {
  it('round-trip nested byte fields as aligned plain Uint8Arrays', () => {
    const msg = {
      type: 'shares',
      shares: Array.from({ length: 20 }, (_, i) => ({
        to: `c${i}`,
        ciphertext: new Uint8Array([i, i + 1, i + 2]),
      })),
      vector: Buffer.from([1, 2, 3, 4, 5]),
    };
    const back = decodeFrame<typeof msg>(encodeFrame(msg));
    expect(back.shares).toHaveLength(20);
    expect([...back.shares[7]!.ciphertext]).toEqual([7, 8, 9]);
    expect(Buffer.isBuffer(back.vector)).toBe(false);
    expect(back.vector.byteOffset % 4).toBe(0);
    expect([...back.vector]).toEqual([1, 2, 3, 4, 5]);
  });

  it('rejects truncated and forged frames with FrameError', () => {
    const f = encodeFrame({ a: new Uint8Array(8) });
    expect(() => decodeFrame(f.subarray(0, f.length - 1))).toThrow(FrameError);
    expect(() => decodeFrame(new Uint8Array([1]))).toThrow(FrameError);
    const forged = encodeFrame({ a: { $b: 3 } });
    expect(() => decodeFrame(forged)).toThrow(FrameError);
    const notJson = Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('{{{')]);
    expect(() => decodeFrame(notJson)).toThrow(FrameError);
  });

  it('bounds parts, their bytes and the header before allocating', () => {
    // 15 MiB of zero bytes: an empty header and about 4 million empty parts.
    const zeros = new Uint8Array(15 << 20);
    const t0 = performance.now();
    expect(() => decodeFrame(zeros)).toThrow(/more than 4096 parts/);
    expect(performance.now() - t0).toBeLessThan(200);
    const many = encodeFrame({ a: Array.from({ length: 10 }, () => new Uint8Array(1)) });
    expect(() => decodeFrame(many, { maxParts: 9 })).toThrow(FrameError);
    expect(decodeFrame<{ a: Uint8Array[] }>(many, { maxParts: 10 }).a).toHaveLength(10);
    const big = encodeFrame({ a: new Uint8Array(100), b: new Uint8Array(100) });
    expect(() => decodeFrame(big, { maxPartBytes: 199 })).toThrow(/over 199 bytes/);
    const header = encodeFrame({ s: 'x'.repeat(1000) });
    expect(() => decodeFrame(header, { maxHeaderBytes: 999 })).toThrow(/header over/);
  });
});
