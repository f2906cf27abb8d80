/**
 * The reward audit, pure and browser-safe: given the rounds the chain recorded (the
 * `ContributionRecorded` events, roots re-checked) and a published scoring record, re-derive every
 * reward with aggregation's `auditRewards` / `scoreRound` (the function the aggregator pays by) and
 * compare each one, and each fixed-point score, with the chain. It also checks that the record is
 * the one the chain committed to (every contribution leaf commits to the round's hash over all its
 * fields; a changed record is named by round and field), that each round's budget is the bounty's
 * round budget, and that the contributors agree. `tributary audit` and the web app's Audit page
 * both run it; only their I/O differs.
 */
import { getAddress } from 'ethers';
// By path: aggregation/index.ts also loads node:crypto's ciphers (prg.ts), which the audit does not need.
import {
  changedFields,
  contributionCommitment,
  roundHashOfDigests,
} from '../../aggregation/contribution/commitment.js';
import {
  auditRewards,
  scoreRound,
  type ScoringState,
} from '../../aggregation/contribution/round.js';
import { AggregationError } from '../../aggregation/errors.js';
import type { RecordedRound } from '../../contracts/events.js';
import { badRecord } from './errors.js';
import {
  roundRecordHash,
  toLedger,
  toRoundRecord,
  type RecordRound,
  type ScoringRecord,
} from './record.js';

export type FindingKind =
  | 'REWARD_MISMATCH'
  | 'SCORE_MISMATCH'
  | 'COMMITMENT_MISMATCH'
  | 'BUDGET_MISMATCH'
  | 'ROUND_NOT_PUBLISHED'
  | 'ROUND_NOT_ON_CHAIN'
  | 'CONTRIBUTOR_NOT_IN_RECORD'
  | 'CONTRIBUTOR_NOT_ON_CHAIN';

export interface Finding {
  kind: FindingKind;
  round: number;
  client?: string;
  /** Fields of the round record that differ from what the chain committed to. */
  fields?: string[];
  onChain?: string;
  derived?: string;
  message: string;
}

export interface AuditRow {
  round: number;
  client: string;
  group: number | null;
  weight: number | null;
  scoreOnChain: bigint | null;
  scoreDerived: bigint | null;
  rewardOnChain: bigint | null;
  rewardDerived: bigint | null;
  commitment: 'bound' | 'differs' | '-';
  pass: boolean;
}

export interface AuditReport {
  bountyId: bigint;
  pass: boolean;
  roundsOnChain: number;
  roundsInRecord: number;
  contributions: number;
  rows: AuditRow[];
  findings: Finding[];
}

/** The audit itself: pure given the chain's rounds and the record. */
export function auditBounty(
  bountyId: bigint,
  roundBudget: bigint,
  chain: readonly RecordedRound[],
  record: ScoringRecord,
): AuditReport {
  const findings: Finding[] = [];
  const rows: AuditRow[] = [];
  const onChain = new Map(chain.map((r) => [Number(r.round), r]));
  const published = [...record.rounds].sort((a, b) => a.round - b.round);
  const seen = new Set<number>();
  for (const r of published) {
    if (seen.has(r.round)) badRecord(`the scoring record lists round ${r.round} twice`);
    seen.add(r.round);
  }
  for (const r of onChain.keys()) {
    if (!seen.has(r))
      findings.push({
        kind: 'ROUND_NOT_PUBLISHED',
        round: r,
        message: `round ${r} is recorded on chain but missing from the scoring record`,
      });
  }
  for (const r of published) {
    if (!onChain.has(r.round))
      findings.push({
        kind: 'ROUND_NOT_ON_CHAIN',
        round: r.round,
        message: `round ${r.round} is in the scoring record but not recorded on chain`,
      });
  }

  // Rewards: aggregation's auditRewards over the record, in round order, against what the chain paid.
  const paidOf = (r: RecordRound) =>
    new Map(
      (onChain.get(r.round)?.contributions ?? []).map(
        (c) => [getAddress(c.account), c.reward] as const,
      ),
    );
  let audited: ReturnType<typeof auditRewards>;
  const scores: Map<string, bigint>[] = [];
  try {
    audited = auditRewards(published.map((r) => ({ record: toRoundRecord(r), paid: paidOf(r) })));
    // The same replay once more for the fixed-point scores, which auditRewards does not return.
    let est: ScoringState = { rounds: [] };
    for (const r of published) {
      const s = scoreRound(toRoundRecord(r), est);
      est = s.state;
      scores.push(s.fixedScores);
    }
  } catch (e) {
    if (e instanceof AggregationError)
      badRecord(`the scoring record cannot be scored: ${e.message}`);
    throw e;
  }
  const rewardFinding = new Set<string>();
  for (const f of audited.findings) {
    const round = published[f.round]!.round;
    if (!onChain.has(round)) continue; // already reported as ROUND_NOT_ON_CHAIN
    rewardFinding.add(`${round}:${f.client}`);
    findings.push({
      kind: 'REWARD_MISMATCH',
      round,
      client: f.client,
      onChain: f.claimed.toString(),
      derived: f.derived.toString(),
      message: `round ${round}, client ${f.client}: paid ${f.claimed} on chain, the record derives ${f.derived}`,
    });
  }

  published.forEach((r, k) => {
    const chainRound = onChain.get(r.round);
    if (!chainRound) return;
    if (BigInt(r.budget) !== roundBudget) {
      findings.push({
        kind: 'BUDGET_MISMATCH',
        round: r.round,
        onChain: roundBudget.toString(),
        derived: BigInt(r.budget).toString(),
        message: `round ${r.round}: the record splits ${r.budget}, the bounty's round budget is ${roundBudget}`,
      });
    }
    const hash = roundRecordHash(bountyId, r);
    const members = new Map<string, { group: number | null; weight: number | null }>();
    r.groups.forEach((g, gi) =>
      g.members.forEach((m) => members.set(getAddress(m.id), { group: gi, weight: m.weight })),
    );
    // Members of groups left out: on chain with score and reward 0, in no scored group.
    for (const g of r.rejected ?? [])
      for (const m of g.members) members.set(getAddress(m), { group: null, weight: null });
    const bound = (client: string) => contributionCommitment(hash, client);
    const unbound = chainRound.contributions.filter(
      (c) => c.commitment.toLowerCase() !== bound(c.account).toLowerCase(),
    );
    if (unbound.length > 0) {
      // Which field changed: the record's digests against those the aggregator committed with
      // (trusted only when they reproduce the chain's commitment).
      const c0 = unbound[0]!;
      const committed =
        r.digests &&
        contributionCommitment(
          roundHashOfDigests(bountyId.toString(), r.round, r.digests),
          c0.account,
        ).toLowerCase() === c0.commitment.toLowerCase()
          ? r.digests
          : undefined;
      const fields = committed ? changedFields(toLedger(bountyId, r), committed) : [];
      findings.push({
        kind: 'COMMITMENT_MISMATCH',
        round: r.round,
        ...(fields.length ? { fields } : {}),
        onChain: c0.commitment,
        derived: bound(c0.account),
        message: fields.length
          ? `round ${r.round}: the record's ${fields.join(', ')} differ from what the chain committed to`
          : `round ${r.round}: ${unbound.length} on-chain commitment(s) do not commit to this record`,
      });
    }
    const derivedRewards = audited.derived[k]!;
    const derivedScores = scores[k]!;
    const chainBy = new Map(chainRound.contributions.map((c) => [getAddress(c.account), c]));
    for (const [client, c] of chainBy) {
      const m = members.get(client);
      const before = findings.length;
      if (!m) {
        findings.push({
          kind: 'CONTRIBUTOR_NOT_IN_RECORD',
          round: r.round,
          client,
          message: `round ${r.round}: ${client} is paid on chain but in no group of the record`,
        });
      }
      const derivedScore = derivedScores.get(client) ?? (m && m.group === null ? 0n : null);
      if (m && derivedScore !== c.score) {
        findings.push({
          kind: 'SCORE_MISMATCH',
          round: r.round,
          client,
          onChain: c.score.toString(),
          derived: String(derivedScore),
          message: `round ${r.round}, client ${client}: score ${c.score} on chain, the record derives ${derivedScore}`,
        });
      }
      const commitment: AuditRow['commitment'] =
        c.commitment.toLowerCase() === bound(client).toLowerCase() ? 'bound' : 'differs';
      rows.push({
        round: r.round,
        client,
        group: m?.group ?? null,
        weight: m?.weight ?? null,
        scoreOnChain: c.score,
        scoreDerived: derivedScore,
        rewardOnChain: c.reward,
        rewardDerived: derivedRewards.get(client) ?? 0n,
        commitment,
        pass:
          findings.length === before &&
          commitment === 'bound' &&
          !rewardFinding.has(`${r.round}:${client}`),
      });
    }
    for (const [client, m] of members) {
      if (chainBy.has(client)) continue;
      findings.push({
        kind: 'CONTRIBUTOR_NOT_ON_CHAIN',
        round: r.round,
        client,
        message: `round ${r.round}: ${client} is in ${m.group === null ? 'a group left out' : `group ${m.group}`} of the record but has no contribution on chain`,
      });
      rows.push({
        round: r.round,
        client,
        group: m.group,
        weight: m.weight,
        scoreOnChain: null,
        scoreDerived: derivedScores.get(client) ?? null,
        rewardOnChain: null,
        rewardDerived: derivedRewards.get(client) ?? 0n,
        commitment: '-',
        pass: false,
      });
    }
  });
  return {
    bountyId,
    pass: findings.length === 0,
    roundsOnChain: onChain.size,
    roundsInRecord: published.length,
    contributions: chain.reduce((s, r) => s + r.contributions.length, 0),
    rows,
    findings,
  };
}
