/**
 * Who signs the per-round messages (the PKI that SecAgg+'s signed keys assume, Bonawitz et al.
 * 2017 §4 "AdvertiseKeys" and round 3 "ConsistencyCheck").
 *
 * An agent's identity is its Ethereum wallet, but a wallet signature costs an ecrecover to check
 * (about 2 ms in JavaScript, 0.2 ms through libsecp256k1: contracts/wallet-recover.ts, which the
 * agent and the server pass in as `WalletRecover`) and a round needs one per peer for its keys and
 * one per survivor for the consistency check. So the wallet certifies a per-bounty Ed25519 key once (EIP-191 over
 * `certificateMessage`: chain id, bounty id, address, key) and every per-round message is signed
 * with that key (libsodium crypto_sign; about 37 µs to verify natively, 84 µs in libsodium.js: sodium.ts). Peers check each certificate
 * themselves, once per (address, certificate), so a server that relays keys still cannot put its
 * own key behind an agent's address: it would need the agent's wallet to certify it. A certificate
 * made for another bounty, chain or wallet names other bytes and recovers another address.
 */
import { signDetached, signVerifyDetached, sodium, sodiumReady } from './sodium.js';
import type { ClientId } from '../types.js';
import { keysPayload } from './keys.js';
import type { AdvertiseKeys } from './messages.js';

/** A wallet's statement that `key` (Ed25519) signs for it in one bounty on one chain. */
export interface AgentCertificate {
  /** Ed25519 public key, 32 bytes. */
  readonly key: Uint8Array;
  /** The wallet's EIP-191 signature over certificateMessage (0x-prefixed hex). */
  readonly signature: string;
}

/** The bounty a certificate is good for. */
export interface CertificateScope {
  readonly chainId: number;
  readonly bountyId: number;
}

/** This client's signing side: its certified key and the secret half that signs round messages. */
export interface AgentIdentity {
  readonly certificate: AgentCertificate;
  readonly secretKey: Uint8Array;
}

/** Recovers the address that made an EIP-191 signature over `message` (ethers' verifyMessage). */
export type WalletRecover = (message: string, signature: string) => string;

/** True when `client`'s wallet certified `cert` for the round's bounty (see CertificateCache). */
export type CertificateCheck = (client: ClientId, cert: AgentCertificate) => boolean;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The text a wallet signs (EIP-191) to certify its Ed25519 key for one bounty. */
export function certificateMessage(
  scope: CertificateScope,
  address: string,
  key: Uint8Array,
): string {
  return [
    'tributary-agent-key/v1',
    `chain: ${scope.chainId}`,
    `bounty: ${scope.bountyId}`,
    `agent: ${address.toLowerCase()}`,
    `ed25519: ${hex(key)}`,
  ].join('\n');
}

/** A fresh Ed25519 key pair, certified by the wallet through `signMessage` (EIP-191). */
export async function createIdentity(
  scope: CertificateScope,
  address: string,
  signMessage: (message: string) => string | Promise<string>,
): Promise<AgentIdentity> {
  await sodiumReady();
  const kp = sodium.crypto_sign_keypair();
  const signature = await signMessage(certificateMessage(scope, address, kp.publicKey));
  return { certificate: { key: kp.publicKey, signature }, secretKey: kp.privateKey };
}

/** Ed25519 signature (64 bytes) of a round message. */
export function signRound(identity: AgentIdentity, payload: Uint8Array): Uint8Array {
  return signDetached(payload, identity.secretKey);
}

/** Checks an Ed25519 signature; false (never a throw) on malformed input. */
export function verifyRound(key: Uint8Array, payload: Uint8Array, signature: Uint8Array): boolean {
  if (key.length !== 32 || signature.length !== 64) return false;
  try {
    return signVerifyDetached(signature, payload, key);
  } catch {
    return false;
  }
}

/**
 * Checks wallet certificates for one bounty and remembers the good ones, so each (address,
 * certificate) costs one ecrecover however many rounds and groups it appears in. Bad ones are
 * not remembered (each is refused again).
 */
export class CertificateCache {
  private readonly good = new Set<string>();

  constructor(
    readonly scope: CertificateScope,
    private readonly recover: WalletRecover,
    private readonly max = 100_000,
  ) {}

  /** ecrecovers done so far (for benchmarks). */
  recovers = 0;

  check(address: string, cert: AgentCertificate): boolean {
    if (!(cert.key instanceof Uint8Array) || cert.key.length !== 32) return false;
    if (typeof cert.signature !== 'string') return false;
    const id = `${address.toLowerCase()}|${hex(cert.key)}|${cert.signature.toLowerCase()}`;
    if (this.good.has(id)) return true;
    this.recovers++;
    let signer: string;
    try {
      signer = this.recover(certificateMessage(this.scope, address, cert.key), cert.signature);
    } catch {
      return false;
    }
    if (signer.toLowerCase() !== address.toLowerCase()) return false;
    if (this.good.size >= this.max) this.good.clear();
    this.good.add(id);
    return true;
  }

  /** The check as a function, for SecAggClient / SecAggGroupServer. */
  get checker(): CertificateCheck {
    return (client, cert) => this.check(client, cert);
  }
}

/** A roster entry whose keys are signed by an Ed25519 key that its client's wallet certified. */
export function keysSigned(m: AdvertiseKeys, certificates: CertificateCheck): boolean {
  return (
    m.cert !== undefined &&
    m.signature !== undefined &&
    certificates(m.client, m.cert) &&
    verifyRound(m.cert.key, keysPayload(m), m.signature)
  );
}
