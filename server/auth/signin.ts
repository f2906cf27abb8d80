/**
 * EIP-712 sign-in. The server issues a challenge (random nonce, expiry); the agent signs it with its
 * wallet; the server recovers the signer and burns the nonce. Both sides build the typed data with
 * these functions, so the agent's protocol client imports nothing else from the server.
 */
import { TypedDataEncoder, verifyTypedData } from 'ethers';

export const SIGN_IN_TYPES = {
  SignIn: [
    { name: 'agent', type: 'address' },
    { name: 'nonce', type: 'bytes32' },
    { name: 'expiry', type: 'uint64' },
    { name: 'server', type: 'string' },
  ],
} as const;

export interface SignInDomain {
  name: 'Tributary';
  version: '1';
  chainId: number;
  /** The deployment's Bounties contract: a signature for one deployment is void at another. */
  verifyingContract: string;
}

export interface SignInMessage {
  agent: string;
  nonce: string;
  /** Unix seconds. */
  expiry: number;
  /**
   * The aggregator's origin (`http://host:port`), so that a signature for one aggregator cannot be
   * replayed at another; an agent signs only a challenge naming the server it dialled.
   */
  server: string;
}

export interface SignInChallenge {
  domain: SignInDomain;
  types: typeof SIGN_IN_TYPES;
  message: SignInMessage;
}

export function signInDomain(chainId: number, verifyingContract: string): SignInDomain {
  return { name: 'Tributary', version: '1', chainId, verifyingContract };
}

/** Recovers the signer of a challenge (throws on malformed signatures). */
export function recoverSignIn(challenge: SignInChallenge, signature: string): string {
  return verifyTypedData(
    challenge.domain,
    { SignIn: [...SIGN_IN_TYPES.SignIn] },
    challenge.message,
    signature,
  );
}

export function signInDigest(challenge: SignInChallenge): string {
  return TypedDataEncoder.hash(
    challenge.domain,
    { SignIn: [...SIGN_IN_TYPES.SignIn] },
    challenge.message,
  );
}
