/**
 * The Merkle tree of a recorded round, built exactly as `Bounties.recordRound` builds it on chain:
 * leaf i = keccak256(abi.encode(i, account, commitment, score, reward)); an inner node is the
 * keccak256 of its two children in ascending order (OpenZeppelin MerkleProof); levels pair nodes
 * left to right and promote an odd last node unchanged.
 */
import { AbiCoder, concat, keccak256 } from 'ethers';

export interface RoundContribution {
  /** Contributor address. */
  account: string;
  /** Commitment to the contributor's update (bytes32 hex). */
  commitment: string;
  /**
   * Quality score in fixed point, as produced by aggregation's `toFixedScore` (the contract only
   * checks its sign: a negative score earns nothing and may be slashed).
   */
  score: bigint;
  /** Reward in token units, < 2^96. */
  reward: bigint;
}

const coder = AbiCoder.defaultAbiCoder();
/** Rewards are packed with the address into one word, so they must fit in 96 bits. */
export const MAX_REWARD = (1n << 96n) - 1n;

/** The leaf hash of contribution `index` of a round. */
export function leafHash(index: number | bigint, c: RoundContribution): string {
  return keccak256(
    coder.encode(
      ['uint256', 'address', 'bytes32', 'int256', 'uint256'],
      [index, c.account, c.commitment, c.score, c.reward],
    ),
  );
}

function hashPair(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

/** All levels of the tree, leaves first. */
export function treeLevels(leaves: readonly string[]): string[][] {
  if (leaves.length === 0) throw new RangeError('a round has at least one contribution');
  const levels: string[][] = [[...leaves]];
  let level = levels[0] as string[];
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i + 1 < level.length; i += 2)
      next.push(hashPair(level[i] as string, level[i + 1] as string));
    if (level.length % 2 === 1) next.push(level[level.length - 1] as string);
    levels.push(next);
    level = next;
  }
  return levels;
}

/** The root of a round's contributions, equal to `Bounties.roundRoot` once recorded. */
export function roundRoot(contributions: readonly RoundContribution[]): string {
  const levels = treeLevels(contributions.map((c, i) => leafHash(i, c)));
  return (levels[levels.length - 1] as string[])[0] as string;
}

/** Proofs for every contribution of a round, in batch order. */
export function roundProofs(contributions: readonly RoundContribution[]): string[][] {
  const levels = treeLevels(contributions.map((c, i) => leafHash(i, c)));
  return contributions.map((_, index) => {
    const proof: string[] = [];
    let i = index;
    for (const level of levels.slice(0, -1)) {
      const sibling = i ^ 1;
      if (sibling < level.length) proof.push(level[sibling] as string);
      i >>= 1;
    }
    return proof;
  });
}

/** Checks a proof as OpenZeppelin's MerkleProof.verify does. */
export function verifyProof(proof: readonly string[], root: string, leaf: string): boolean {
  return (
    proof.reduce((node, sibling) => hashPair(node, sibling), leaf).toLowerCase() ===
    root.toLowerCase()
  );
}

/** `uint256(uint160(account)) << 96 | reward`, the calldata word of one contributor. */
export function packContribution(account: string, reward: bigint): bigint {
  if (reward < 0n || reward > MAX_REWARD)
    throw new RangeError(`reward ${reward} does not fit in 96 bits`);
  return (BigInt(account) << 96n) | reward;
}

/** The hash of a model artifact, as published in ModelRegistry and recorded in a round. */
export function artifactHash(bytes: Uint8Array): string {
  return keccak256(bytes);
}
