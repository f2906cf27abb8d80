/**
 * Agents' per-bounty Ed25519 keys, certified by their wallets (aggregation/secagg/identity.ts).
 * An agent sends its certificate when it joins a bounty and with its keys every round; the server
 * checks it once per (bounty, address, certificate) and keeps the good ones in memory, so a round
 * costs the server one Ed25519 verification per member instead of one ecrecover. Peers check the
 * same certificates themselves: the server's check only refuses bad keys early.
 */
import { Inject, Injectable } from '@nestjs/common';
import { getBytes, isHexString } from 'ethers';
import {
  CertificateCache,
  keysSigned,
  type AdvertiseKeys,
  type AgentCertificate,
} from '../../aggregation/index.js';
import { recoverMessageSigner } from '../../contracts/wallet-recover.js';
import { ProtocolError } from '../errors.js';
import { CHAIN_ID } from '../tokens.js';

/** Bounties whose checked certificates are kept (the least recently first used go first). */
const MAX_BOUNTIES = 1024;

@Injectable()
export class AgentKeys {
  private readonly caches = new Map<number, CertificateCache>();

  constructor(@Inject(CHAIN_ID) private readonly chainId: number) {}

  private cache(bountyId: number): CertificateCache {
    let c = this.caches.get(bountyId);
    if (!c) {
      if (this.caches.size >= MAX_BOUNTIES) this.caches.delete(this.caches.keys().next().value!);
      c = new CertificateCache({ chainId: this.chainId, bountyId }, recoverMessageSigner);
      this.caches.set(bountyId, c);
    }
    return c;
  }

  /** The certificate sent with `join` (`{ key: 0x + 64 hex, signature }`); throws BAD_SIGNATURE. */
  checkJoin(bountyId: number, address: string, input: { key: string; signature: string }): void {
    if (!isHexString(input.key, 32)) {
      throw new ProtocolError('BAD_REQUEST', 'certificate key must be 32 bytes of hex');
    }
    const cert: AgentCertificate = { key: getBytes(input.key), signature: input.signature };
    if (!this.cache(bountyId).check(address, cert)) {
      throw new ProtocolError(
        'BAD_SIGNATURE',
        'the key certificate is not signed by this wallet for this bounty and chain',
      );
    }
  }

  /** Whether advertised keys are signed under a key `address`'s wallet certified for the bounty. */
  keysSigned(bountyId: number, address: string, m: AdvertiseKeys): boolean {
    return m.client === address && keysSigned(m, this.cache(bountyId).checker);
  }
}
