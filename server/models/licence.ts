/**
 * Licence check for downloads of non-open models. The request is signed by the downloader's wallet
 * (EIP-191 over `downloadMessage(...)`, expiring soon) in three headers; the server recovers the
 * address and lets it download when
 * - ModelRegistry.hasLicence holds: the sponsor, a buyer, or a contributor that proved a rewarded
 *   contribution on chain (`claimContributorLicence`; joining alone grants no licence), or
 * - it joined the bounty on chain and the bounty is not settled yet: participants need the global
 *   model to train the next round. This access ends when the last round is recorded (or the
 *   deadline passes), so the final model goes to licence holders only. A sponsor who does not
 *   want zero-stake joiners to see intermediate versions sets a minimum stake.
 */
import { getAddress, isAddress } from 'ethers';
import { recoverMessageSigner } from '../../contracts/wallet-recover.js';
import { LicenceKind } from '../../contracts/index.js';
import type { ChainService } from '../chain/chain.service.js';
import { ProtocolError } from '../errors.js';

export const LICENCE_HEADERS = {
  address: 'x-tributary-address',
  expiry: 'x-tributary-expiry',
  signature: 'x-tributary-signature',
} as const;

/**
 * What a downloader signs: bounty and version (the path `/models/<bounty>/versions/<version>/`)
 * and an expiry in Unix seconds, at most `DOWNLOAD_WINDOW_S` ahead. A leaked header is good for
 * that version's files for under a minute, not for another version or bounty. (Not single-use:
 * wallet signatures are deterministic, so a client re-fetching within the same second sends the
 * same headers.)
 */
export function downloadMessage(bountyId: number, version: number, expiry: number): string {
  return `tributary-model-download\n${bountyId}\n${version}\n${expiry}`;
}

const TTL_MS = 30_000;
/** Longest a download signature may be valid for, seconds. */
export const DOWNLOAD_WINDOW_S = 60;

export class LicenceChecker {
  private readonly terms = new Map<number, { open: boolean; at: number }>();
  private readonly holders = new Map<string, number>();

  constructor(private readonly chain: ChainService) {}

  private async isOpen(bountyId: number): Promise<boolean> {
    const hit = this.terms.get(bountyId);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.open;
    const t = await this.chain.registry.licenceTerms(BigInt(bountyId));
    const open = t.kind === LicenceKind.Open;
    this.terms.set(bountyId, { open, at: Date.now() });
    return open;
  }

  async check(
    bountyId: number,
    version: number,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<void> {
    if (await this.isOpen(bountyId)) return;
    const h = (k: string) => {
      const v = headers[k];
      return Array.isArray(v) ? v[0] : v;
    };
    const address = h(LICENCE_HEADERS.address);
    const expiryText = h(LICENCE_HEADERS.expiry);
    const signature = h(LICENCE_HEADERS.signature);
    if (address === undefined && expiryText === undefined && signature === undefined) {
      throw new ProtocolError('NO_LICENCE', 'this model is licensed: sign the download request');
    }
    // Checked before anything is recovered or looked up: a malformed header is the caller's error.
    if (!address || !isAddress(address)) {
      throw new ProtocolError('BAD_REQUEST', `${LICENCE_HEADERS.address} must be an address`);
    }
    if (!expiryText || !/^\d{1,12}$/.test(expiryText)) {
      throw new ProtocolError('BAD_REQUEST', `${LICENCE_HEADERS.expiry} must be Unix seconds`);
    }
    if (!signature || !/^0x[0-9a-fA-F]{130}$/.test(signature)) {
      throw new ProtocolError(
        'BAD_REQUEST',
        `${LICENCE_HEADERS.signature} must be a 65-byte hex signature`,
      );
    }
    const expiry = Number(expiryText);
    const now = Date.now() / 1000;
    if (expiry < now) throw new ProtocolError('CHALLENGE_EXPIRED', 'download signature expired');
    if (expiry > now + DOWNLOAD_WINDOW_S) {
      throw new ProtocolError(
        'BAD_REQUEST',
        `download signatures expire at most ${DOWNLOAD_WINDOW_S} s ahead`,
      );
    }
    let signer: string;
    try {
      signer = getAddress(
        recoverMessageSigner(downloadMessage(bountyId, version, expiry), signature),
      );
    } catch {
      throw new ProtocolError('BAD_SIGNATURE', 'malformed download signature');
    }
    if (signer !== getAddress(address))
      throw new ProtocolError('BAD_SIGNATURE', 'signature is not by the address');
    const key = `${bountyId}:${signer}`;
    const at = this.holders.get(key);
    if (at && Date.now() - at < TTL_MS) return;
    if (await this.chain.registry.hasLicence(BigInt(bountyId), signer)) {
      this.holders.set(key, Date.now()); // a licence is never revoked
      return;
    }
    // Not cached: training access ends at settlement.
    if (await this.trains(bountyId, signer)) return;
    throw new ProtocolError(
      'NO_LICENCE',
      `${signer} holds no licence for bounty ${bountyId} (a rewarded contributor claims one on chain)`,
    );
  }

  /** A participant of a bounty that is still training. */
  private async trains(bountyId: number, signer: string): Promise<boolean> {
    const id = BigInt(bountyId);
    const [settled, joined] = await Promise.all([
      this.chain.bounties.isSettled(id),
      this.chain.bounties.isParticipant(id, signer),
    ]);
    return joined && !settled;
  }
}
