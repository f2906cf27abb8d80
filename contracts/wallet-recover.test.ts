import fc from 'fast-check';
import { Signature, verifyMessage, Wallet } from 'ethers';
import { recoverMessageSigner, walletRecoverBackend } from './wallet-recover.js';

const wallets = Array.from({ length: 4 }, () => Wallet.createRandom());

describe('recoverMessageSigner', () => {
  it('loads the native libsecp256k1 binding here (the prebuilt one in the package)', () => {
    expect(walletRecoverBackend).toBe('libsecp256k1');
  });

  it('returns what ethers verifyMessage returns, for signers and for tampered messages', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        // Any Unicode (the digest is over the message's UTF-8 bytes and their count).
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'binary' }),
        (w, m, other) => {
          const sig = wallets[w]!.signMessageSync(m);
          expect(recoverMessageSigner(m, sig)).toBe(wallets[w]!.address);
          expect(recoverMessageSigner(other, sig)).toBe(verifyMessage(other, sig));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('takes the compact (EIP-2098) form and refuses malformed signatures as ethers does', () => {
    const sig = wallets[0]!.signMessageSync('hello');
    expect(recoverMessageSigner('hello', Signature.from(sig).compactSerialized)).toBe(
      wallets[0]!.address,
    );
    for (const bad of ['0x', '0x1234', `${sig}00`, sig.slice(0, -2) + '1f', 'nope']) {
      expect(() => verifyMessage('hello', bad)).toThrow();
      expect(() => recoverMessageSigner('hello', bad)).toThrow();
    }
  });
});
