/**
 * The published scoring record of a bounty (browser-safe: no node: imports; the CLI and the web
 * app both read it through this module): per round, the round record of aggregation's
 * `LedgerRound` (scored groups with members, sample weights and aggregate hashes; groups left out
 * and why; the utilities U(S) of every coalition; the metric; the budget) and the field digests
 * the aggregator committed to. With `scoreRound` it determines every score and reward bit for bit.
 *
 * It is tied to the chain by the commitment in every contribution leaf of `recordRound`:
 * keccak256(abi.encode(bytes32 roundHash, address account)), where roundHash binds every field
 * (aggregation/contribution/commitment.ts), so a record published after the fact cannot differ in
 * any field from the one the rewards were paid by.
 */
import { isAddress } from 'ethers';
import { z } from 'zod';
// By path, not through aggregation/index.ts: that also loads the SecAgg+ machinery and Node's
// ChaCha20, which a browser has not got and the audit does not need.
import {
  contributionCommitment,
  roundHash,
  scoringInput,
  RECORD_FIELDS,
  type LedgerRound,
  type RecordDigests,
} from '../../aggregation/contribution/commitment.js';
import type { RoundRecord } from '../../aggregation/contribution/round.js';
import { badRecord } from './errors.js';

export const RECORD_FORMAT = 'tributary-scoring-record/2';

const Hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 0x-prefixed 32-byte hex string');
const Account = z.string().refine((s) => isAddress(s), 'an Ethereum address');
const Amount = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]);

export const RecordMember = z.object({
  id: Account,
  /** Sample weight declared with the masked input. */
  weight: z.number().nonnegative(),
});

export const RecordGroup = z.object({
  members: z.array(RecordMember).min(1),
  /** Hash of the group's unmasked aggregate words. */
  sumHash: Hex32,
});

export const RejectedGroup = z.object({
  members: z.array(Account).min(1),
  reason: z.string(),
});

const Digests = z.object(
  Object.fromEntries(RECORD_FIELDS.map((f) => [f, Hex32])) as Record<
    (typeof RECORD_FIELDS)[number],
    typeof Hex32
  >,
);

export const RecordRound = z.object({
  /** On-chain round number, 1-based. */
  round: z.number().int().positive(),
  /** Tokens (smallest unit) the round pays: the bounty's roundBudget. */
  budget: Amount,
  /** Name of the validation metric behind the utilities. */
  metric: z.string(),
  groups: z.array(RecordGroup).min(1),
  rejected: z.array(RejectedGroup).default([]),
  /** U(S) for every coalition S of groups, indexed by bit mask (bit g = group g). */
  utilities: z.array(z.number()),
  /** Scored members who broke the protocol this round: paid nothing. */
  offenders: z.array(Account).default([]),
  /** The field digests the aggregator committed to (names the field a changed record changed). */
  digests: Digests.optional(),
});

export const ScoringRecord = z.object({
  format: z.literal(RECORD_FORMAT),
  bountyId: Amount,
  rounds: z.array(RecordRound),
});

export type RecordMember = z.infer<typeof RecordMember>;
export type RecordGroup = z.infer<typeof RecordGroup>;
export type RecordRound = z.input<typeof RecordRound>;
export type ScoringRecord = z.input<typeof ScoringRecord>;

/** The round as aggregation's LedgerRound, the object the chain's commitments bind. */
export function toLedger(bountyId: bigint | string, r: RecordRound): LedgerRound {
  return {
    bountyId: BigInt(bountyId).toString(),
    round: r.round,
    budget: BigInt(r.budget).toString(),
    metric: r.metric,
    groups: r.groups,
    rejected: r.rejected ?? [],
    utilities: r.utilities,
    offenders: r.offenders ?? [],
  };
}

/** The round's hash (aggregation's roundHash of the record). */
export function roundRecordHash(bountyId: bigint | string, r: RecordRound): string {
  return roundHash(toLedger(bountyId, r));
}

/** The commitment of one contributor's leaf (aggregation's contributionCommitment). */
export const recordCommitment = contributionCommitment;

export type { RecordDigests };

/** A round as the aggregator lists it in `GET /bounties/:id/rounds` (the fields the audit reads). */
export const ServerRound = z.object({
  number: z.number().int(),
  ledgerRound: z.number().int().positive().nullable(),
  state: z.string(),
  scoring: z
    .object({
      record: RecordRound.omit({ digests: true }).extend({ bountyId: Amount }),
      digests: Digests,
    })
    .nullable(),
});
export type ServerRound = z.infer<typeof ServerRound>;
export const ServerRounds = z.array(ServerRound);

/** The scoring record from the aggregator's round listing: every scored round `include` accepts. */
export function recordFromServerRounds(
  bountyId: bigint,
  rows: readonly ServerRound[],
  include: (r: ServerRound) => boolean = () => true,
): ScoringRecord {
  const rounds: RecordRound[] = [];
  for (const r of rows) {
    if (!r.scoring || r.ledgerRound === null || !include(r)) continue;
    const { bountyId: _b, ...round } = r.scoring.record;
    rounds.push({ ...round, digests: r.scoring.digests });
  }
  return { format: RECORD_FORMAT, bountyId: bountyId.toString(), rounds };
}

/** The input of `scoreRound` / `auditRewards` (ids checksummed). */
export function toRoundRecord(r: RecordRound): RoundRecord {
  return scoringInput(toLedger(0n, r));
}

/** Why a zod parse failed, as one line: the path of the first issue and its message. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join('.') || '(root)'}: ${issue?.message}`;
}

/**
 * A scoring record for bounty `bountyId` from a JSON document or its text (a file, a URL's body,
 * text pasted into the web app); throws `AuditError` BAD_RECORD naming what is wrong.
 */
export function parseRecord(input: string | unknown, bountyId: bigint): ScoringRecord {
  let doc = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch {
      badRecord('the scoring record is not JSON');
    }
  }
  const parsed = ScoringRecord.safeParse(doc);
  if (!parsed.success) badRecord(`the scoring record is malformed at ${firstIssue(parsed.error)}`);
  if (BigInt(parsed.data.bountyId) !== bountyId)
    badRecord(`the scoring record is for bounty ${parsed.data.bountyId}, not ${bountyId}`);
  return parsed.data;
}

/**
 * The record to audit from the aggregator's round listing (`GET /bounties/:id/rounds`): every
 * scored round that is final, that is settled or already on chain (`onChain`, by on-chain round
 * number). Scored rounds still on their way to the chain are counted as `pending`, not audited.
 */
export function recordFromListing(
  bountyId: bigint,
  listing: unknown,
  onChain: ReadonlySet<number> = new Set(),
): { record: ScoringRecord; pending: number } {
  const parsed = ServerRounds.safeParse(listing);
  if (!parsed.success)
    badRecord(`the server's round listing is malformed at ${firstIssue(parsed.error)}`);
  const rows = parsed.data;
  const final = (r: ServerRound) =>
    r.state === 'settled' || (r.ledgerRound !== null && onChain.has(r.ledgerRound));
  const pending = rows.filter((r) => r.scoring && r.ledgerRound !== null && !final(r)).length;
  return { record: recordFromServerRounds(bountyId, rows, final), pending };
}
