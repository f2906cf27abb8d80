/**
 * Bounties: registered from the chain (the server reads what the sponsor funded, it does not take
 * the caller's word), then listed with their rounds, contributors, scores and rewards.
 */
import { canonicalJson, PRG_NAMES, specHash } from '../../aggregation/index.js';
import { Inject, Injectable } from '@nestjs/common';
import { getAddress } from 'ethers';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import type { BountyState } from '../../contracts/index.js';
import { ChainService } from '../chain/chain.service.js';
import { Bounty, type BountySpec } from '../db/entities.js';
import { ProtocolError } from '../errors.js';
import { bytesToWeights } from '../models/artifact.js';
import { ModelsService } from '../models/models.service.js';
import { decodeValidation, validationHash } from '../models/validation.js';
import type { ServerConfig } from '../config.js';
import { base64Length, checkJsonBounds, Id } from '../input.js';
import { CONFIG } from '../tokens.js';

/**
 * A tfjs Layers topology nests a few levels per layer wrapper; 64 levels and 100,000 nodes hold any
 * real model and keep canonical JSON (recursive) far from the stack's end.
 */
export const TOPOLOGY_BOUNDS = { depth: 64, nodes: 100_000 } as const;

/** Largest size of one tensor axis (the product is bounded by the server's MAX_MODEL_PARAMS). */
const MAX_DIM = 2 ** 31 - 1;

const b64 = z.string().regex(/^[A-Za-z0-9+/=]*$/, 'base64');

const BountySpecSchema = z.object({
  modelTopology: z.record(z.string(), z.unknown()),
  weightSpecs: z
    .array(
      z.object({
        name: z.string().min(1).max(512),
        shape: z.array(z.number().int().positive().max(MAX_DIM)).max(8),
        dtype: z.literal('float32'),
      }),
    )
    .min(1)
    .max(4096),
  minGroupSize: z.number().int().min(3).max(1000),
  maxGroups: z.number().int().min(1).max(16),
  minParticipants: z.number().int().min(3),
  clip: z.number().positive(),
  strategy: z.object({
    name: z.enum(['fedavg', 'fedadam', 'fedyogi']),
    params: z.record(z.string(), z.number()).optional(),
  }),
  train: z.object({
    epochs: z.number().int().min(1),
    batchSize: z.number().int().min(1),
    learningRate: z.number().positive(),
  }),
  loss: z.string().max(200),
  licence: z.object({ open: z.boolean(), priceWei: z.string().optional() }),
  weightCap: z
    .number()
    .int()
    .min(1)
    .max(1 << 20)
    .optional(),
  robust: z
    .object({
      rule: z.enum(['median', 'trimmed', 'none']),
      trim: z.number().int().min(1).max(7).optional(),
      minGroups: z.number().int().min(3).max(16).optional(),
    })
    .optional(),
  slashBelow: z.number().finite().negative().optional(),
  prg: z.enum(PRG_NAMES).optional(),
  plaintext: z.literal(true).optional(),
});

/**
 * `POST /bounties`. On chain the bounty carries `modelSpecHash` = keccak256 of the spec's canonical
 * JSON (keys sorted at every level) and `validationSetHash` = keccak256 of the validation set's
 * canonical bytes; the server recomputes both from what it is sent.
 */
export const RegisterBounty = z.object({
  id: Id,
  spec: BountySpecSchema,
  /** Validation set in the canonical encoding (models/validation.ts), base64. */
  validation: b64,
  /** Model version 0: float32 little-endian weights in manifest order, base64. */
  initialWeights: b64,
  specHash: z.string().optional(),
  validationHash: z.string().optional(),
});
export type RegisterBounty = z.infer<typeof RegisterBounty>;

export { canonicalJson, specHash };

@Injectable()
export class BountiesService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ChainService) private readonly chain: ChainService,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(CONFIG) private readonly config: ServerConfig,
  ) {}

  async register(input: unknown) {
    const spec0 = (input as { spec?: unknown } | null)?.spec;
    checkJsonBounds(spec0, TOPOLOGY_BOUNDS, 'spec');
    const parsed = RegisterBounty.safeParse(input);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new ProtocolError('BAD_REQUEST', `${i?.path.join('.')}: ${i?.message}`);
    }
    const req = parsed.data;
    const spec = req.spec as BountySpec;
    if (spec.plaintext && !this.config.allowPlaintext) {
      throw new ProtocolError(
        'BAD_REQUEST',
        'spec.plaintext: rounds without secure aggregation are for benchmarks only',
      );
    }
    const params = spec.weightSpecs.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
    if (!(params <= this.config.maxModelParams)) {
      throw new ProtocolError(
        'TOO_LARGE',
        `the model has ${params} parameters, this server takes at most ${this.config.maxModelParams}`,
      );
    }
    // Lengths checked on the base64 text, before anything is decoded.
    if (req.initialWeights.length !== base64Length(params * 4)) {
      throw new ProtocolError(
        'VECTOR_LENGTH',
        `initial weights of ${req.initialWeights.length} base64 characters, the model needs ${params * 4} bytes`,
      );
    }
    if (req.validation.length > base64Length(this.config.maxValidationBytes)) {
      throw new ProtocolError(
        'TOO_LARGE',
        `validation set over ${this.config.maxValidationBytes} bytes`,
      );
    }
    const weightBytes = Buffer.from(req.initialWeights, 'base64');
    if (weightBytes.length !== params * 4) {
      throw new ProtocolError(
        'VECTOR_LENGTH',
        `initial weights of ${weightBytes.length} bytes, the model needs ${params * 4}`,
      );
    }
    const validation = Buffer.from(req.validation, 'base64');
    decodeValidation(validation); // rejects a malformed set

    let onChain: BountyState;
    try {
      onChain = await this.chain.bounties.getBounty(BigInt(req.id));
    } catch {
      throw new ProtocolError('NOT_FOUND', `no bounty ${req.id} on chain`);
    }
    if (onChain.deposited === 0n) throw new ProtocolError('BOUNTY_NOT_FUNDED', 'nothing deposited');
    if (getAddress(onChain.coordinator) !== getAddress(this.chain.coordinator.address)) {
      throw new ProtocolError('BOUNTY_MISMATCH', 'the bounty names another coordinator');
    }
    if (onChain.validationSetHash !== validationHash(validation)) {
      throw new ProtocolError('BOUNTY_MISMATCH', 'validation set does not match the hash on chain');
    }
    if (onChain.modelSpecHash !== specHash(spec)) {
      throw new ProtocolError(
        'BOUNTY_MISMATCH',
        'spec does not match the model spec hash on chain',
      );
    }
    // The server never opens a round the chain would refuse to record; the spec is stored as
    // registered (agents re-hash it, GET /bounties/:id/spec), so a lower minimum is refused.
    if (spec.minParticipants < onChain.minParticipants) {
      throw new ProtocolError(
        'BOUNTY_MISMATCH',
        `spec.minParticipants ${spec.minParticipants} is below the chain's ${onChain.minParticipants}`,
      );
    }
    await this.ds.transaction(async (em) => {
      if (await em.findOneBy(Bounty, { id: req.id })) {
        throw new ProtocolError('DUPLICATE', `bounty ${req.id} is already registered`);
      }
      await em.save(Bounty, {
        id: req.id,
        sponsor: getAddress(onChain.sponsor),
        spec,
        validationHash: onChain.validationSetHash,
        validation,
        budget: onChain.deposited.toString(),
        roundsTotal: onChain.rounds,
        status: 'open',
      } as Bounty);
      const bounty = await em.findOneByOrFail(Bounty, { id: req.id });
      await this.models.publish(em, bounty, 0, bytesToWeights(weightBytes));
    });
    return this.summary(await this.get(req.id));
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
