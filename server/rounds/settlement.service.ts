/**
 * Scoring and settlement, which run behind the next round (a slow lane of the queue, one job at a
 * time so rounds settle in order):
 *   score  - utilities U(S) of every coalition of groups on the sponsor's validation set, then
 *            aggregation's `scoreRound` (group Shapley, per-person estimates, rewards);
 *   settle - one batched `recordRound` per (bounty, round), exactly once (`recordRoundOnce` is a
 *            no-op when the same batch is already on chain), the model version's hash published
 *            in the registry, receipts stored, agents told what they earned.
 */
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import {
  coalitionWeights,
  contributionCommitment,
  recordDigests,
  roundHash,
  scoreRound,
  scoringInput,
  type LedgerRound,
  type RecordDigests,
  type ScoringState,
} from '../../aggregation/index.js';
import { toChainError, type RoundContribution } from '../../contracts/index.js';
import { topic } from '../../contracts/events.js';
import { ChainService } from '../chain/chain.service.js';
import { Bounty, ChainReceipt, Participant, Round, RoundGroup } from '../db/entities.js';
import { Hub } from '../gateway/hub.js';
import { bytesToWeights } from '../models/artifact.js';
import { makeEvaluator } from '../models/evaluate.js';
import { ModelsService } from '../models/models.service.js';
import { decodeValidation } from '../models/validation.js';
import { QueueService } from '../queue/queue.service.js';
import { slashBelow } from './slashing.js';

/**
 * What is kept of a scored round: the round record the chain commits to (aggregation's
 * `LedgerRound`, bound by `roundHash` in every contribution leaf), its field digests, and what
 * `scoreRound` derived from it. Anyone holding the record recomputes the rest.
 */
export interface StoredScoring {
  record: LedgerRound;
  digests: RecordDigests;
  groupValues: number[];
  fixedScores: Record<string, string>;
  rewards: Record<string, string>;
  /**
   * Shown to people, not scored or committed: the sponsor's validation set on the version the
   * round started from and on the version it published (loss and accuracy).
   */
  validation?: {
    before: { loss: number; accuracy: number };
    after: { loss: number; accuracy: number };
  };
}

@Injectable()
export class SettlementService implements OnModuleInit {
  private readonly log = new Logger('Settlement');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(QueueService) private readonly queue: QueueService,
    @Inject(ChainService) private readonly chain: ChainService,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(Hub) private readonly hub: Hub,
  ) {}

  onModuleInit(): void {
    this.queue.register('score', (d) => this.score(Number(d.roundId)));
    this.queue.register('settle', (d) => this.settle(Number(d.roundId)));
  }

  /** Running estimates before `round`, re-derived from the stored records of earlier rounds. */
  private async previousEstimates(round: Round): Promise<ScoringState> {
    const earlier = await this.ds.getRepository(Round).find({
      where: { bountyId: round.bountyId, state: In(['aggregated', 'scored', 'settled']) },
      order: { number: 'ASC' },
    });
    let est: ScoringState = { rounds: [] };
    for (const r of earlier) {
      if (r.number >= round.number) break;
      const s = r.scoring as unknown as StoredScoring | null;
      if (!s) throw new Error(`round ${r.number} of bounty ${r.bountyId} is not scored yet`);
      est = scoreRound(scoringInput(s.record), est).state;
    }
    return est;
  }

  async score(roundId: number): Promise<void> {
    const round = await this.ds.getRepository(Round).findOneBy({ id: roundId });
    if (!round || round.state !== 'aggregated') return;
    const t0 = Date.now();
    const bounty = await this.ds.getRepository(Bounty).findOneByOrFail({ id: round.bountyId });
    const groups = await this.ds
      .getRepository(RoundGroup)
      .find({ where: { roundId, state: 'aggregated' }, order: { index: 'ASC' } });
    // Sample weights as declared with the masked inputs (a survivor that left at the consistency
    // check or at unmask is still in its group's sum).
    const parts = await this.ds.getRepository(Participant).findBy({ roundId });
    const weightOf = new Map(parts.map((p) => [p.address, p.samples]));
    const base = await this.models.get(bounty.id, round.modelVersion);
    const baseW = this.models.weightsOf(base);
    const means = groups.map((g) => ({ mean: bytesToWeights(g.sum!), weight: g.weight }));
    const evaluator = await makeEvaluator(base.modelJson, decodeValidation(bounty.validation));
    const utilities: number[] = [];
    const published = this.models.weightsOf(
      await this.models.get(bounty.id, round.modelVersion + 1),
    );
    const measure = (w: Float32Array) => evaluator.metrics(w);
    let validation: StoredScoring['validation'];
    try {
      for (let mask = 0; mask < 1 << groups.length; mask++) {
        const w = coalitionWeights(baseW, means, mask);
        utilities.push(-(await evaluator.loss(w)));
      }
      validation = { before: await measure(baseW), after: await measure(published) };
    } finally {
      evaluator.dispose();
    }
    const prev = await this.previousEstimates(round);
    const { roundBudget } = await this.chain.bounties.getBounty(BigInt(bounty.id));
    // Groups left out (impossible sums, too few survivors) are on the record with their reason.
    const dropped = await this.ds
      .getRepository(RoundGroup)
      .find({ where: { roundId, state: 'dropped' }, order: { index: 'ASC' } });
    const record: LedgerRound = {
      bountyId: String(bounty.id),
      round: round.ledgerRound!,
      budget: roundBudget.toString(),
      // Negative validation loss: higher is better, and it ranks data quality far better than accuracy.
      metric: 'neg_loss',
      groups: groups.map((g) => ({
        members: [...g.survivors].sort().map((id) => ({ id, weight: weightOf.get(id) ?? 0 })),
        sumHash: g.sumHash!,
      })),
      // Everyone picked for the round and left out is on the record (and on chain, score and
      // reward 0) with a reason: whole groups, then members of summed groups outside the sum.
      rejected: [
        ...dropped.map((g) => ({
          members: [...g.members].sort(),
          reason: g.dropReason ?? 'dropped',
        })),
        ...groups.flatMap((g) =>
          g.members
            .filter((m) => !g.survivors.includes(m))
            .sort()
            .map((m) => ({
              members: [m],
              reason: g.offenders.some((o) => o.holder === m && o.secret === 'shares-rejected')
                ? 'EXCLUDED: too few neighbours could open its shares'
                : 'DROPPED: left the round before its input was summed',
            })),
        ),
      ],
      utilities,
      // Members whose unmask shares were outvoted: scored, paid nothing this round.
      offenders: [...new Set(groups.flatMap((g) => g.offenders.map((o) => o.holder)))].sort(),
    };
    const s = scoreRound(scoringInput(record), prev);
    const scoring: StoredScoring = {
      record,
      digests: recordDigests(record),
      groupValues: s.groupValues,
      fixedScores: Object.fromEntries([...s.fixedScores].map(([k, v]) => [k, v.toString()])),
      rewards: Object.fromEntries([...s.rewards].map(([k, v]) => [k, v.toString()])),
      validation,
    };
    await this.ds.transaction(async (em) => {
      for (const [address, score] of s.personScores) {
        await em.update(
          Participant,
          { roundId, address },
          { score, reward: (s.rewards.get(address) ?? 0n).toString() },
        );
      }
      const res = await em
        .createQueryBuilder()
        .update(Round)
        .set({
          state: 'scored',
          scoring: scoring as never,
          timing: () =>
            `timing || '${JSON.stringify({ scoredIn: Date.now() - t0, scored: Date.now() })}'::jsonb`,
        })
        .where('id = :id AND state = :s', { id: roundId, s: 'aggregated' })
        .execute();
      if (res.affected !== 1) throw new Error('round changed while scoring');
    });
    await this.queue.add('settle', { roundId }, `settle-${roundId}`);
  }

  async settle(roundId: number): Promise<void> {
    const round = await this.ds.getRepository(Round).findOneBy({ id: roundId });
    if (!round || round.state !== 'scored' || round.ledgerRound === null) return;
    const t0 = Date.now();
    const scoring = round.scoring as unknown as StoredScoring;
    const version = await this.models.get(round.bountyId, round.modelVersion + 1);
    // One leaf per scored member, then per member of a group left out (score and reward 0), each
    // committing to the whole round record.
    const hash = roundHash(scoring.record);
    const accounts = [
      ...scoring.record.groups.flatMap((g) => g.members.map((m) => m.id)),
      ...scoring.record.rejected.flatMap((g) => g.members),
    ];
    const contributions: RoundContribution[] = accounts.map((account) => ({
      account,
      commitment: contributionCommitment(hash, account),
      score: BigInt(scoring.fixedScores[account] ?? '0'),
      reward: BigInt(scoring.rewards[account] ?? '0'),
    }));
    const bountyId = BigInt(round.bountyId);
    let recorded;
    try {
      recorded = await this.chain.bounties.recordRoundOnce(
        bountyId,
        round.ledgerRound,
        version.hash,
        contributions,
      );
    } catch (err) {
      throw toChainError(err);
    }
    // Already on chain (an earlier attempt whose reply was lost, or whose process died after
    // sending): its receipt comes from the round's RoundRecorded event, so none goes missing.
    await this.saveReceipt(
      round,
      'recordRound',
      recorded.receipt ?? (await this.recordedReceipt(bountyId, round.ledgerRound)),
    );
    // Registry versions go 1, 2, ... in order; publish any this bounty is missing up to this one.
    const latest = Number(await this.chain.registry.latestVersion(bountyId));
    for (let v = latest + 1; v <= version.version; v++) {
      const mv = await this.models.get(round.bountyId, v);
      const receipt = await this.chain.registry.publishVersion(
        bountyId,
        v,
        mv.hash,
        `/models/${round.bountyId}/versions/${v}/model.json`,
      );
      await this.saveReceipt(round, `publishVersion:${v}`, receipt);
    }
    // The last round's scores are the final estimates: slash those the spec calls strongly negative.
    const bounty = await this.ds.getRepository(Bounty).findOneByOrFail({ id: round.bountyId });
    if (bounty.spec.slashBelow !== undefined && round.ledgerRound === bounty.roundsTotal) {
      for (const s of await slashBelow(
        this.chain,
        bountyId,
        round.ledgerRound,
        contributions,
        bounty.spec.slashBelow,
      )) {
        await this.saveReceipt(round, `slash:${s.index}`, s.receipt);
        this.log.warn(`bounty ${round.bountyId}: slashed ${s.amount} of ${s.account}'s stake`);
      }
    }
    await this.ds
      .createQueryBuilder()
      .update(Round)
      .set({
        state: 'settled',
        timing: () =>
          `timing || '${JSON.stringify({ settledIn: Date.now() - t0, settled: Date.now() })}'::jsonb`,
      })
      .where('id = :id AND state = :s', { id: roundId, s: 'scored' })
      .execute();
    for (const c of contributions) {
      this.hub.toAgent(c.account, 'reward', {
        roundId,
        bountyId: round.bountyId,
        round: round.ledgerRound,
        score: c.score.toString(),
        reward: c.reward.toString(),
      });
    }
    this.log.log(
      `bounty ${round.bountyId} round ${round.ledgerRound} settled (${contributions.length} contributions)`,
    );
  }

  /** The receipt of the transaction that recorded (bounty, ledger round), from its event. */
  private async recordedReceipt(bountyId: bigint, ledgerRound: number) {
    const bounties = this.chain.bounties;
    const [log] = await this.chain.provider.getLogs({
      address: bounties.address,
      topics: [
        bounties.interface.getEvent('RoundRecorded')!.topicHash,
        topic(bountyId),
        topic(ledgerRound),
      ],
      fromBlock: 0,
      toBlock: 'latest',
    });
    return log ? this.chain.provider.getTransactionReceipt(log.transactionHash) : null;
  }

  private async saveReceipt(
    round: Round,
    kind: string,
    receipt: { hash: string; blockNumber: number; gasUsed: bigint } | null,
  ): Promise<void> {
    if (!receipt) return; // already on chain from an earlier attempt, whose receipt is stored
    await this.ds
      .createQueryBuilder()
      .insert()
      .into(ChainReceipt)
      .values({
        bountyId: round.bountyId,
        roundNumber: round.number,
        kind,
        txHash: receipt.hash,
        blockNumber: receipt.blockNumber,
        status: 'confirmed',
        gasUsed: Number(receipt.gasUsed),
      })
      .orIgnore()
      .execute();
  }
}
