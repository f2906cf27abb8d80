/**
 * Bounties: registered from the chain (the server reads what the sponsor funded, it does not take
 * the caller's word), then listed with their rounds, contributors, scores and rewards.
 */
import { Inject, Injectable } from '@nestjs/common';
import { getAddress } from 'ethers';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import type { BountyState } from '../../contracts/index.js';
import { ChainService } from '../chain/chain.service.js';
import { Bounty, type BountySpec } from '../db/entities.js';
import { ProtocolError } from '../errors.js';
import { artifactHash, bytesToWeights } from '../models/artifact.js';
import { ModelsService } from '../models/models.service.js';
import { decodeValidation, validationHash } from '../models/validation.js';

const b64 = z.string().regex(/^[A-Za-z0-9+/=]*$/, 'base64');

export const RegisterBounty = z.object({
  bountyId: z.number().int().nonnegative(),
  /** tfjs model.json text; its weights manifest names `weights.bin`. */
  modelJson: z.string().min(2).max(10_000_000),
  /** Initial weights, float32 little-endian, base64. */
  weights: b64,
  /** Validation set in the canonical encoding (models/validation.ts), base64. */
  validation: b64,
  config: z
    .object({
      minGroupSize: z.number().int().min(3).max(1000).optional(),
      maxGroups: z.number().int().min(1).max(16).optional(),
      minParticipants: z.number().int().min(3).optional(),
      clip: z.number().positive().optional(),
      strategy: z
        .object({
          name: z.enum(['fedavg', 'fedadam', 'fedyogi']),
          params: z.record(z.string(), z.number()).optional(),
        })
        .optional(),
      train: z
        .object({
          epochs: z.number().int().min(1),
          batchSize: z.number().int().min(1),
          learningRate: z.number().positive(),
        })
        .optional(),
    })
    .default({}),
});
export type RegisterBounty = z.infer<typeof RegisterBounty>;

@Injectable()
export class BountiesService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ChainService) private readonly chain: ChainService,
    @Inject(ModelsService) private readonly models: ModelsService,
  ) {}

  async register(input: unknown) {
    const parsed = RegisterBounty.safeParse(input);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new ProtocolError('BAD_REQUEST', `${i?.path.join('.')}: ${i?.message}`);
    }
    const req = parsed.data;
    const json = Buffer.from(req.modelJson, 'utf8');
    let manifest: {
      modelTopology: unknown;
      weightsManifest: { paths: string[]; weights: BountySpec['weightSpecs'] }[];
    };
    try {
      manifest = JSON.parse(req.modelJson) as typeof manifest;
    } catch {
      throw new ProtocolError('BAD_REQUEST', 'modelJson is not JSON');
    }
    const weightSpecs = manifest.weightsManifest?.flatMap((g) => g.weights) ?? [];
    if (!manifest.modelTopology || weightSpecs.length === 0) {
      throw new ProtocolError('BAD_REQUEST', 'modelJson needs modelTopology and weightsManifest');
    }
    const params = weightSpecs.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
    const weightBytes = Buffer.from(req.weights, 'base64');
    if (weightBytes.length !== params * 4) {
      throw new ProtocolError(
        'VECTOR_LENGTH',
        `weights of ${weightBytes.length} bytes, model needs ${params * 4}`,
      );
    }
    const validation = Buffer.from(req.validation, 'base64');
    decodeValidation(validation); // rejects a malformed set

    let onChain: BountyState;
    try {
      onChain = await this.chain.bounties.getBounty(BigInt(req.bountyId));
    } catch {
      throw new ProtocolError('NOT_FOUND', `no bounty ${req.bountyId} on chain`);
    }
    if (onChain.deposited === 0n) throw new ProtocolError('BOUNTY_NOT_FUNDED', 'nothing deposited');
    if (getAddress(onChain.coordinator) !== getAddress(this.chain.coordinator.address)) {
      throw new ProtocolError('BOUNTY_MISMATCH', 'the bounty names another coordinator');
    }
    if (onChain.validationSetHash !== validationHash(validation)) {
      throw new ProtocolError('BOUNTY_MISMATCH', 'validation set does not match the hash on chain');
    }
    if (onChain.modelSpecHash !== artifactHash(json, weightBytes)) {
      throw new ProtocolError(
        'BOUNTY_MISMATCH',
        'model.json + weights do not match the model hash on chain',
      );
    }
    const c = req.config;
    const spec: BountySpec = {
      modelTopology: manifest.modelTopology,
      weightSpecs,
      minGroupSize: c.minGroupSize ?? 3,
      maxGroups: c.maxGroups ?? 8,
      minParticipants: Math.max(c.minParticipants ?? 0, onChain.minParticipants, 3),
      clip: c.clip ?? 10,
      strategy: c.strategy ?? { name: 'fedavg' },
      train: c.train ?? { epochs: 1, batchSize: 32, learningRate: 0.05 },
      loss: 'sparseCategoricalCrossentropy',
      licence: { open: false },
    };
    await this.ds.transaction(async (em) => {
      if (await em.findOneBy(Bounty, { id: req.bountyId })) {
        throw new ProtocolError('DUPLICATE', `bounty ${req.bountyId} is already registered`);
      }
      await em.save(Bounty, {
        id: req.bountyId,
        sponsor: getAddress(onChain.sponsor),
        spec,
        validationHash: onChain.validationSetHash,
        validation,
        budget: onChain.deposited.toString(),
        roundsTotal: onChain.rounds,
        status: 'open',
      } as Bounty);
      await this.models.publishInitial(em, req.bountyId, json, bytesToWeights(weightBytes));
    });
    return this.summary(await this.get(req.bountyId));
  }

  /** True when `address` joined (staked in) the bounty on chain. */
  async joinedOnChain(bountyId: number, address: string): Promise<boolean> {
    return this.chain.bounties.isParticipant(BigInt(bountyId), address);
  }

  async list() {
    const rows = await this.ds.getRepository(Bounty).find({ order: { id: 'ASC' } });
    return rows.map((b) => this.summary(b));
  }

  async get(id: number): Promise<Bounty> {
    const b = await this.ds.getRepository(Bounty).findOneBy({ id });
    if (!b) throw new ProtocolError('NOT_FOUND', `no bounty ${id}`);
    return b;
  }

  summary(b: Bounty) {
    return {
      id: b.id,
      sponsor: b.sponsor,
      status: b.status,
      budget: b.budget,
      roundsTotal: b.roundsTotal,
      validationHash: b.validationHash,
      minParticipants: b.spec.minParticipants,
      minGroupSize: b.spec.minGroupSize,
      maxGroups: b.spec.maxGroups,
      strategy: b.spec.strategy,
      train: b.spec.train,
      createdAt: b.createdAt,
    };
  }

  async rounds(bountyId: number) {
    await this.get(bountyId);
    const rows = (await this.ds.query(
      `SELECT r.id, r.number, r.ledger_round AS "ledgerRound", r.state, r.abort_reason AS "abortReason",
              r.model_version AS "modelVersion", r.timing, r.scoring,
              (SELECT json_agg(json_build_object('index', g.index, 'members', g.members, 'state', g.state,
                      'survivors', g.survivors, 'weight', g.weight, 'sumHash', g.sum_hash, 'dropReason', g.drop_reason)
                      ORDER BY g.index) FROM round_group g WHERE g.round_id = r.id) AS groups,
              (SELECT json_agg(json_build_object('kind', c.kind, 'txHash', c.tx_hash, 'block', c.block_number,
                      'gasUsed', c.gas_used)) FROM chain_receipt c
                WHERE c.bounty_id = r.bounty_id AND c.round_number = r.number) AS receipts
         FROM round r WHERE r.bounty_id = $1 ORDER BY r.number`,
      [bountyId],
    )) as unknown[];
    return rows;
  }

  async contributors(bountyId: number) {
    await this.get(bountyId);
    return (await this.ds.query(
      `SELECT p.address, count(*)::int AS rounds,
              count(*) FILTER (WHERE p.progress = 'unmask')::int AS contributed,
              coalesce(sum(p.score), 0) AS "scoreSum",
              coalesce(sum(p.reward), 0)::text AS rewards
         FROM participant p JOIN round r ON r.id = p.round_id
        WHERE r.bounty_id = $1 GROUP BY p.address ORDER BY p.address`,
      [bountyId],
    )) as unknown[];
  }
}
