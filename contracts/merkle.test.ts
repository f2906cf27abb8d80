/** Properties of the off-chain round tree (the on-chain side is checked in lifecycle.test.ts and forge). */
import fc from 'fast-check';
import { getAddress, hexlify } from 'ethers';
import {
  leafHash,
  packContribution,
  roundProofs,
  roundRoot,
  verifyProof,
  MAX_REWARD,
  type RoundContribution,
} from './merkle.js';

const contribution = fc.record({
  account: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(hexlify(b))),
  commitment: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b)),
  score: fc.bigInt({ min: -(2n ** 100n), max: 2n ** 100n }),
  reward: fc.bigInt({ min: 0n, max: MAX_REWARD }),
});

describe('round Merkle tree', () => {
  it('proves every contribution and rejects tampered ones', () => {
    fc.assert(
      fc.property(
        fc.array(contribution, { minLength: 1, maxLength: 40 }),
        (batch: RoundContribution[]) => {
          const root = roundRoot(batch);
          const proofs = roundProofs(batch);
          batch.forEach((c, i) => {
            expect(verifyProof(proofs[i]!, root, leafHash(i, c))).toBe(true);
            expect(
              verifyProof(proofs[i]!, root, leafHash(i, { ...c, reward: c.reward ^ 1n })),
            ).toBe(false);
            expect(verifyProof(proofs[i]!, root, leafHash(i + 1, c))).toBe(false);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('packs account and reward in one word', () => {
    const account = '0x00000000000000000000000000000000000000aA';
    expect(packContribution(account, 5n)).toBe((0xaan << 96n) | 5n);
    expect(() => packContribution(account, MAX_REWARD + 1n)).toThrow(RangeError);
  });
});
