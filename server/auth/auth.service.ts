import { Inject, Injectable } from '@nestjs/common';
import { getAddress, hexlify, isAddress, randomBytes } from 'ethers';
import { DataSource } from 'typeorm';
import { CONFIG, CHAIN_ID } from '../tokens.js';
import type { ServerConfig } from '../config.js';
import { AuthChallenge } from '../db/entities.js';
import { ProtocolError } from '../errors.js';
import { recoverSignIn, signInDomain, SIGN_IN_TYPES, type SignInChallenge } from './signin.js';

export const SERVER_NAME = 'tributary-aggregator';

@Injectable()
export class AuthService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(CONFIG) private readonly config: ServerConfig,
    @Inject(CHAIN_ID) private readonly chainId: number,
  ) {}

  async challenge(address: unknown): Promise<SignInChallenge> {
    if (typeof address !== 'string' || !isAddress(address)) {
      throw new ProtocolError('BAD_REQUEST', 'address must be an Ethereum address');
    }
    const agent = getAddress(address);
    const nonce = hexlify(randomBytes(32));
    const expiry = Math.floor(Date.now() / 1000) + this.config.challengeTtlS;
    await this.ds
      .getRepository(AuthChallenge)
      .insert({ nonce, address: agent, expiresAt: new Date(expiry * 1000), usedAt: null });
    return {
      domain: signInDomain(this.chainId),
      types: SIGN_IN_TYPES,
      message: { agent, nonce, expiry, server: SERVER_NAME },
    };
  }

  /** Verifies a signed challenge and burns its nonce; returns the checksummed agent address. */
  async verify(input: {
    address?: unknown;
    nonce?: unknown;
    signature?: unknown;
  }): Promise<string> {
    const { address, nonce, signature } = input;
    if (
      typeof address !== 'string' ||
      !isAddress(address) ||
      typeof nonce !== 'string' ||
      !/^0x[0-9a-fA-F]{64}$/.test(nonce) ||
      typeof signature !== 'string'
    ) {
      throw new ProtocolError('UNAUTHENTICATED', 'sign-in needs address, nonce and signature');
    }
    const agent = getAddress(address);
    const row = await this.ds
      .getRepository(AuthChallenge)
      .findOneBy({ nonce: nonce.toLowerCase() });
    if (!row || row.address !== agent)
      throw new ProtocolError('UNAUTHENTICATED', 'unknown challenge');
    if (row.usedAt) throw new ProtocolError('UNAUTHENTICATED', 'challenge already used');
    if (row.expiresAt.getTime() < Date.now()) {
      throw new ProtocolError('CHALLENGE_EXPIRED', 'challenge expired; ask for a new one');
    }
    let signer: string;
    try {
      signer = recoverSignIn(
        {
          domain: signInDomain(this.chainId),
          types: SIGN_IN_TYPES,
          message: {
            agent,
            nonce: row.nonce,
            expiry: Math.floor(row.expiresAt.getTime() / 1000),
            server: SERVER_NAME,
          },
        },
        signature,
      );
    } catch {
      throw new ProtocolError('BAD_SIGNATURE', 'malformed signature');
    }
    if (signer !== agent) throw new ProtocolError('BAD_SIGNATURE', 'signature is not by the agent');
    // Burn the nonce atomically: only one sign-in per challenge.
    const res = await this.ds
      .createQueryBuilder()
      .update(AuthChallenge)
      .set({ usedAt: () => 'now()' })
      .where('nonce = :nonce AND used_at IS NULL', { nonce: row.nonce })
      .execute();
    if (res.affected !== 1) throw new ProtocolError('UNAUTHENTICATED', 'challenge already used');
    return agent;
  }
}
