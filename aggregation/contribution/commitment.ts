/**
 * The commitment that binds a whole round record on chain, one function for the aggregator (which
 * puts it in every contribution leaf of `recordRound`), the CLI and browser audits and the tests.
 *
 * A round record holds everything a reward is derived from: the groups that were scored (members,
 * their sample weights, a hash of each group's aggregate), the groups left out and why, the
 * utilities U(S) of every coalition of scored groups, the metric behind them, the members who
 * broke the protocol (paid nothing) and the round budget.
 * Each field is hashed on its own (keccak256 of its canonical JSON) and the round's hash is
 * keccak256 of the canonical JSON of { format, bountyId, round, digests }. Every contribution leaf
 * carries keccak256(abi.encode(bytes32 roundHash, address account)), so a record published after
 * the fact cannot differ in any field from the one the rewards were paid by; and because the
 * aggregator publishes the field digests it committed to, an audit of a changed record can say
 * which field changed (the pass/fail itself rests on the chain alone).
 */
import { AbiCoder, getAddress, keccak256, sha256, toUtf8Bytes } from 'ethers';
import { canonicalJson } from '../canonical.js';
import type { RoundRecord } from './round.js';

export const ROUND_RECORD_FORMAT = 'tributary-round-record/2';

export interface RecordGroup {
  /** Members whose updates are in the group's aggregate, with their sample weights. */
  readonly members: readonly { readonly id: string; readonly weight: number }[];
  /** 0x-prefixed hash of the group's unmasked aggregate words. */
  readonly sumHash: string;
}

export interface RejectedGroup {
  readonly members: readonly string[];
  /** Typed reason, e.g. "OUT_OF_BOUNDS: weight word 120 differs from ...". */
  readonly reason: string;
}

/** One round as it is scored, paid and committed to. Accounts are checksummed addresses. */
export interface LedgerRound {
  readonly bountyId: string;
  /** On-chain round number (1-based). */
  readonly round: number;
  /** Tokens (smallest unit) the round pays out, as a decimal string. */
  readonly budget: string;
  /** The validation metric behind the utilities, e.g. "neg_loss". */
  readonly metric: string;
  readonly groups: readonly RecordGroup[];
  /** Groups left out of the round (their members are on chain with score and reward 0). */
  readonly rejected: readonly RejectedGroup[];
  /** U(S) for every coalition S of `groups`, indexed by bit mask (bit g = group g). */
  readonly utilities: readonly number[];
  /** Scored members who broke the protocol this round (paid nothing; see scoreRound). */
  readonly offenders: readonly string[];
}

export const RECORD_FIELDS = [
  'budget',
  'metric',
  'members',
  'weights',
  'sumHashes',
  'rejected',
  'utilities',
  'offenders',
] as const;
export type RecordField = (typeof RECORD_FIELDS)[number];
export type RecordDigests = Record<RecordField, string>;

const hashJson = (v: unknown) => keccak256(toUtf8Bytes(canonicalJson(v)));

/**
 * The hash of a group's aggregate as the record binds it: sha256 of its sample-weighted mean
 * update, float32 little-endian, exactly the vector the strategy stepped the model with. Whoever
 * is given the aggregates (the sponsor and licence holders, `GET /models/:id/versions/:v/
 * aggregates`) checks each against the record before replaying training from it.
 */
export function aggregateHash(mean: Float32Array): string {
  return sha256(new Uint8Array(mean.buffer, mean.byteOffset, mean.byteLength));
}

/** keccak256 of each field's canonical JSON. */
export function recordDigests(r: LedgerRound): RecordDigests {
  return {
    budget: hashJson(BigInt(r.budget).toString()),
    metric: hashJson(r.metric),
    members: hashJson(r.groups.map((g) => g.members.map((m) => getAddress(m.id)))),
    weights: hashJson(r.groups.map((g) => g.members.map((m) => m.weight))),
    sumHashes: hashJson(r.groups.map((g) => g.sumHash.toLowerCase())),
    rejected: hashJson(
      r.rejected.map((g) => ({ members: g.members.map((m) => getAddress(m)), reason: g.reason })),
    ),
    utilities: hashJson(r.utilities),
    offenders: hashJson([...r.offenders].map((m) => getAddress(m)).sort()),
  };
}

/** The round's hash over its digests (what every contribution commitment binds). */
export function roundHashOfDigests(bountyId: string, round: number, d: RecordDigests): string {
  return hashJson({
    format: ROUND_RECORD_FORMAT,
    bountyId: BigInt(bountyId).toString(),
    round,
    digests: d,
  });
}

export function roundHash(r: LedgerRound): string {
  return roundHashOfDigests(r.bountyId, r.round, recordDigests(r));
}

/** The commitment in one contribution leaf: keccak256(abi.encode(bytes32 roundHash, address)). */
export function contributionCommitment(hash: string, account: string): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(['bytes32', 'address'], [hash, getAddress(account)]),
  );
}

/** The fields whose digest differs between a record and the digests it was committed with. */
export function changedFields(r: LedgerRound, committed: RecordDigests): RecordField[] {
  const now = recordDigests(r);
  return RECORD_FIELDS.filter((f) => now[f] !== committed[f]);
}

/** The input of scoreRound: the scored groups with their members' weights. */
export function scoringInput(r: LedgerRound): RoundRecord {
  return {
    budget: BigInt(r.budget),
    groups: r.groups.map((g) => ({
      members: g.members.map((m) => ({ id: getAddress(m.id), weight: m.weight })),
    })),
    utilities: r.utilities,
    offenders: r.offenders.map((m) => getAddress(m)),
  };
}
