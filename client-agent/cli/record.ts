/**
 * The published scoring record of a bounty: per round, the groups (members with their sample
 * weights), the utilities U(S) of every coalition of groups, and the round budget. With
 * `scoreRound` from aggregation/ it determines every score and reward bit for bit.
 *
 * It is tied to the chain by the per-contributor commitment of `recordRound`: a record-bound
 * commitment is keccak256(abi.encode(bytes32 roundRecordHash, address account)) where
 * roundRecordHash = keccak256(canonical JSON of the round without commitments), so a record
 * published after the fact cannot differ from the one the rewards were paid by. A record may
 * instead carry each member's `commitment` as recorded on chain; the audit then checks equality.
 */
import { AbiCoder, getAddress, isAddress, keccak256 } from 'ethers';
import { z } from 'zod';
import type { RoundRecord } from '../../aggregation/index.js';
import { canonicalJson } from './spec.js';

export const RECORD_FORMAT = 'tributary-scoring-record/1';

const Hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 0x-prefixed 32-byte hex string');
const Account = z.string().refine((s) => isAddress(s), 'an Ethereum address');
const Amount = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]);

export const RecordMember = z.object({
  id: Account,
  /** Sample weight declared with the masked input. */
  weight: z.number().nonnegative(),
  commitment: Hex32.optional(),
});

export const RecordGroup = z.object({
  members: z.array(RecordMember).min(1),
  /** keccak256 of the group's unmasked sum (informative; lets the sponsor re-derive utilities). */
  sumHash: Hex32.optional(),
});

export const RecordRound = z.object({
  /** On-chain round number, 1-based. */
  round: z.number().int().positive(),
  /** Tokens (smallest unit) the round pays: the bounty's roundBudget. */
  budget: Amount,
  groups: z.array(RecordGroup).min(1),
  /** U(S) for every coalition S of groups, indexed by bit mask (bit g = group g). */
  utilities: z.array(z.number()),
  /** Name of the validation metric behind the utilities (informative). */
  metric: z.string().optional(),
});

export const ScoringRecord = z.object({
  format: z.literal(RECORD_FORMAT),
  bountyId: Amount,
  rounds: z.array(RecordRound),
});

export type RecordMember = z.infer<typeof RecordMember>;
export type RecordGroup = z.infer<typeof RecordGroup>;
export type RecordRound = z.infer<typeof RecordRound>;
export type ScoringRecord = z.infer<typeof ScoringRecord>;

/** keccak256 of the round's canonical JSON, commitments left out, accounts checksummed. */
export function roundRecordHash(r: RecordRound): string {
  const body = {
    round: r.round,
    budget: BigInt(r.budget).toString(),
    groups: r.groups.map((g) => ({
      members: g.members.map((m) => ({ id: getAddress(m.id), weight: m.weight })),
      ...(g.sumHash ? { sumHash: g.sumHash.toLowerCase() } : {}),
    })),
    utilities: r.utilities,
  };
  return keccak256(Buffer.from(canonicalJson(body), 'utf8'));
}

/** The record-bound commitment of one contributor (see the file comment). */
export function recordCommitment(recordHash: string, account: string): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(['bytes32', 'address'], [recordHash, getAddress(account)]),
  );
}

/**
 * The aggregator's commitment of a contributor to the group aggregate its update went into:
 * keccak256(abi.encode(string roundKey, bytes32 groupSumHash, address account)), where roundKey
 * is "<bountyId>:<server round number>".
 */
export function groupSumCommitment(roundKey: string, sumHash: string, account: string): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ['string', 'bytes32', 'address'],
      [roundKey, sumHash, getAddress(account)],
    ),
  );
}

/** A round as the aggregator lists it in `GET /bounties/:id/rounds` (the fields the audit reads). */
export const ServerRound = z.object({
  number: z.number().int(),
  ledgerRound: z.number().int().positive().nullable(),
  state: z.string(),
  scoring: z
    .object({
      record: z.object({
        budget: Amount,
        groups: z.array(
          z.object({ members: z.array(z.object({ id: Account, weight: z.number() })) }),
        ),
        utilities: z.array(z.number()),
      }),
      metric: z.string().optional(),
    })
    .nullable(),
  groups: z
    .array(
      z.object({
        index: z.number().int(),
        state: z.string(),
        survivors: z.array(z.string()),
        sumHash: Hex32.nullable(),
      }),
    )
    .nullable(),
});
export type ServerRound = z.infer<typeof ServerRound>;
export const ServerRounds = z.array(ServerRound);

/**
 * The scoring record from the aggregator's round listing: every scored round with a ledger round
 * that `include` accepts, each member carrying the commitment re-derived from its group's
 * published sum hash.
 */
export function recordFromServerRounds(
  bountyId: bigint,
  rows: readonly ServerRound[],
  include: (r: ServerRound) => boolean = () => true,
): ScoringRecord {
  const rounds: RecordRound[] = [];
  for (const r of rows) {
    if (!r.scoring || r.ledgerRound === null || !include(r)) continue;
    const key = `${bountyId}:${r.number}`;
    rounds.push({
      round: r.ledgerRound,
      budget: String(r.scoring.record.budget),
      metric: r.scoring.metric,
      utilities: r.scoring.record.utilities,
      groups: r.scoring.record.groups.map((g) => {
        const ids = new Set(g.members.map((m) => getAddress(m.id)));
        const match = (r.groups ?? []).find(
          (sg) =>
            sg.state === 'aggregated' &&
            sg.survivors.length === ids.size &&
            sg.survivors.every((s) => ids.has(getAddress(s))),
        );
        const sumHash = match?.sumHash ?? undefined;
        return {
          ...(sumHash ? { sumHash } : {}),
          members: g.members.map((m) => ({
            id: m.id,
            weight: m.weight,
            ...(sumHash ? { commitment: groupSumCommitment(key, sumHash, m.id) } : {}),
          })),
        };
      }),
    });
  }
  return { format: RECORD_FORMAT, bountyId: bountyId.toString(), rounds };
}

/** The input of `scoreRound` / `auditRewards` (ids checksummed). */
export function toRoundRecord(r: RecordRound): RoundRecord {
  return {
    budget: BigInt(r.budget),
    groups: r.groups.map((g) => ({
      members: g.members.map((m) => ({ id: getAddress(m.id), weight: m.weight })),
    })),
    utilities: r.utilities,
  };
}
