/**
 * Download licence rule: open terms, a licence held on chain, or a participant while the bounty
 * still trains. After settlement a participant without a claimed licence is refused.
 */
import { Wallet } from 'ethers';
import { LicenceKind } from '../../contracts/index.js';
import type { ChainService } from '../chain/chain.service.js';
import { LicenceChecker, downloadMessage } from './licence.js';

interface World {
  kind: LicenceKind;
  licensed: Set<string>;
  joined: Set<string>;
  settled: boolean;
}

function checker(w: World): LicenceChecker {
  const chain = {
    registry: {
      licenceTerms: async () => ({ kind: w.kind, token: '', price: 0n }),
      hasLicence: async (_id: bigint, a: string) => w.licensed.has(a),
    },
    bounties: {
      isSettled: async () => w.settled,
      isParticipant: async (_id: bigint, a: string) => w.joined.has(a),
    },
  };
  return new LicenceChecker(chain as unknown as ChainService);
}

async function signed(
  wallet: { address: string; signMessage(m: string): Promise<string> },
  bountyId: number,
  version: number,
) {
  const expiry = Math.floor(Date.now() / 1000) + 60;
  return {
    'x-tributary-address': wallet.address,
    'x-tributary-expiry': String(expiry),
    'x-tributary-signature': await wallet.signMessage(downloadMessage(bountyId, version, expiry)),
  };
}

describe('LicenceChecker', () => {
  const joiner = Wallet.createRandom();
  const contributor = Wallet.createRandom();

  it('lets participants fetch the model while the bounty trains, not after', async () => {
    const w: World = {
      kind: LicenceKind.Paid,
      licensed: new Set(),
      joined: new Set([joiner.address, contributor.address]),
      settled: false,
    };
    const c = checker(w);
    await expect(c.check(1, 1, await signed(joiner, 1, 1))).resolves.toBeUndefined();
    w.settled = true;
    await expect(c.check(1, 2, await signed(joiner, 1, 2))).rejects.toMatchObject({
      code: 'NO_LICENCE',
    });
    w.licensed.add(contributor.address); // claimed with a rewarded leaf
    await expect(c.check(1, 2, await signed(contributor, 1, 2))).resolves.toBeUndefined();
  });

  it('refuses unsigned requests unless the model is open', async () => {
    const w: World = {
      kind: LicenceKind.ContributorsOnly,
      licensed: new Set(),
      joined: new Set(),
      settled: true,
    };
    await expect(checker(w).check(1, 1, {})).rejects.toMatchObject({ code: 'NO_LICENCE' });
    await expect(
      checker({ ...w, kind: LicenceKind.Open }).check(1, 1, {}),
    ).resolves.toBeUndefined();
  });
});
