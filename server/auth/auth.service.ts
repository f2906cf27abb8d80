import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { getAddress, hexlify, isAddress, randomBytes } from 'ethers';
import { DataSource, LessThan } from 'typeorm';
import { CONFIG, CHAIN_ID } from '../tokens.js';
import type { ServerConfig } from '../config.js';
import { ChainService } from '../chain/chain.service.js';
import { AuthChallenge } from '../db/entities.js';
import { ProtocolError } from '../errors.js';
import { RateLimiter } from '../abuse/rate-limits.js';
import { recoverSignIn, signInDomain, SIGN_IN_TYPES, type SignInChallenge } from './signin.js';

/** Where a request came from and which origin it was addressed to. */
export interface RequestOrigin {
  /** Client IP (rate limits). */
  ip: string;
  /** Host header the client sent. */
  host?: string;
  secure?: boolean;
}

/** How often expired challenges are deleted, at most. */
const SWEEP_MS = 60_000;

@Injectable()
export class AuthService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('Auth');
  private sweeper?: NodeJS.Timeout;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(CONFIG) private readonly config: ServerConfig,
    @Inject(CHAIN_ID) private readonly chainId: number,
    @Inject(ChainService) private readonly chain: ChainService,
    @Inject(RateLimiter) private readonly limits: RateLimiter,
  ) {}

  onModuleInit(): void {
    const every = Math.min(SWEEP_MS, this.config.challengeTtlS * 1000);
    this.sweeper = setInterval(
      () => void this.deleteExpired().catch((err: unknown) => this.log.warn(String(err))),
      every,
    );
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  /** Deletes challenges past their expiry (used or not): they can sign nobody in any more. */
  async deleteExpired(): Promise<number> {
    const res = await this.ds
      .getRepository(AuthChallenge)
      .delete({ expiresAt: LessThan(new Date()) });
    return res.affected ?? 0;
  }

  /**
   * The origin signed into challenges: PUBLIC_URL when set, else the origin the client addressed
   * (so a challenge that an agent signs for one aggregator does not sign it in at another).
   */
  serverOrigin(from: RequestOrigin): string {
    if (this.config.publicUrl) return this.config.publicUrl;
    const host = from.host ?? '';
    if (!/^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/.test(host)) {
      throw new ProtocolError('BAD_REQUEST', 'the request needs a valid Host header');
    }
    return `${from.secure ? 'https' : 'http'}://${host.toLowerCase()}`;
  }

  /** EIP-712 domain of sign-ins: this chain and this deployment's Bounties contract. */
  private domain() {
    return signInDomain(this.chainId, this.chain.chain.addresses.bounties);
  }

  async challenge(address: unknown, from: RequestOrigin): Promise<SignInChallenge> {
    if (typeof address !== 'string' || !isAddress(address)) {
      throw new ProtocolError('BAD_REQUEST', 'address must be an Ethereum address');
    }
    const agent = getAddress(address);
    const server = this.serverOrigin(from);
    await this.limits.consume('challenge', from.ip);
    await this.limits.consume('challengeAddress', agent);
    const nonce = hexlify(randomBytes(32));
    const expiry = Math.floor(Date.now() / 1000) + this.config.challengeTtlS;
    await this.ds
      .getRepository(AuthChallenge)
      .insert({ nonce, address: agent, expiresAt: new Date(expiry * 1000), usedAt: null });
    return {
      domain: this.domain(),
      types: SIGN_IN_TYPES,
      message: { agent, nonce, expiry, server },
    };
  }

  /** Verifies a signed challenge and burns its nonce; returns the checksummed agent address. */
  async verify(
    input: {
      address?: unknown;
      nonce?: unknown;
      signature?: unknown;
    },
    from: RequestOrigin,
  ): Promise<string> {
    const { address, nonce, signature } = input;
    if (
      typeof address !== 'string' ||
      !isAddress(address) ||
      typeof nonce !== 'string' ||
      !/^0x[0-9a-fA-F]{64}$/.test(nonce) ||
      typeof signature !== 'string' ||
      signature.length > 200
    ) {
      throw new ProtocolError('UNAUTHENTICATED', 'sign-in needs address, nonce and signature');
    }
    await this.limits.consume('signin', from.ip);
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
          domain: this.domain(),
          types: SIGN_IN_TYPES,
          message: {
            agent,
            nonce: row.nonce,
            expiry: Math.floor(row.expiresAt.getTime() / 1000),
            server: this.serverOrigin(from),
          },
        },
        signature,
      );
    } catch {
      throw new ProtocolError('BAD_SIGNATURE', 'malformed signature');
    }
    if (signer !== agent) {
      throw new ProtocolError(
        'BAD_SIGNATURE',
        'signature is not by the agent (or was made for another aggregator or chain)',
      );
    }
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
