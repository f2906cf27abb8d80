/**
 * The Sponsor page's encodings equal the aggregator's: the validation bytes (and so their hash),
 * the spec hash, and base64 of the weights; and the architectures the page offers build the spec
 * `tributary bounty create` builds.
 */
import fc from 'fast-check';
import {
  encodeValidation,
  specHash,
  validationHash,
  type BountySpec,
} from '../../aggregation/spec.js';
import { denseSpec } from '../../server/test/harness.js';
import {
  encodeValidationBytes,
  specHashOf,
  toBase64,
  validationHashOf,
} from '../../web/src/sponsor/encode.js';

describe('Sponsor page encodings', () => {
  it('validation bytes and hash equal aggregation/spec.ts for any set', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 2, max: 12 }),
        fc.integer(),
        (features, n, classes, seed) => {
          let s = seed;
          const x = Float32Array.from(
            { length: n * features },
            () => ((s = (s * 1103515245 + 12345) | 0) % 1000) / 7,
          );
          const y = Int32Array.from({ length: n }, (_, i) => ((i * 7 + seed) % classes) >>> 0);
          const v = { shape: [features], classes, x, y };
          const ours = encodeValidationBytes(v);
          const theirs = encodeValidation(v);
          expect(Buffer.from(ours).equals(theirs)).toBe(true);
          expect(validationHashOf(ours)).toBe(validationHash(theirs));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('spec hash and base64 equal the Node side', () => {
    const spec: BountySpec = denseSpec(5, 3, { licence: { open: false, priceWei: '10' } });
    expect(specHashOf(spec)).toBe(specHash(spec));
    const bytes = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 31) & 0xff);
    expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
  });
});
