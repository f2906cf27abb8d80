import { Inject, Injectable } from '@nestjs/common';
import { DataSource, In, type EntityManager } from 'typeorm';
import { Bounty, ModelVersion, Round, RoundGroup } from '../db/entities.js';
import { ProtocolError } from '../errors.js';
import { SharedReads } from '../db/shared-reads.js';
import { artifactHash, bytesToWeights, modelJson, weightsToBytes } from './artifact.js';

@Injectable()
export class ModelsService {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  /** Stores a model version (idempotent: an existing version is returned unchanged). */
  async publish(
    em: EntityManager,
    bounty: Bounty,
    version: number,
    weights: Float32Array,
    optimizerState: Buffer | null = null,
  ): Promise<ModelVersion> {
    const existing = await em
      .getRepository(ModelVersion)
      .findOneBy({ bountyId: bounty.id, version });
    if (existing) return existing;
    const json = modelJson(bounty.spec);
    const bin = weightsToBytes(weights);
    const row = em.getRepository(ModelVersion).create({
      bountyId: bounty.id,
      version,
      hash: artifactHash(json, bin),
      modelJson: json,
      weights: Buffer.from(bin),
      optimizerState,
    });
    return em.getRepository(ModelVersion).save(row);
  }

  async latest(
    bountyId: number,
    em: EntityManager = this.ds.manager,
  ): Promise<ModelVersion | null> {
    return em
      .getRepository(ModelVersion)
      .findOne({ where: { bountyId }, order: { version: 'DESC' } });
  }

  /** The aggregated groups of the round that produced `version`, in the record's (index) order. */
  async aggregates(bountyId: number, version: number) {
    const round = await this.ds.getRepository(Round).findOne({
      where: {
        bountyId,
        modelVersion: version - 1,
        state: In(['aggregated', 'scored', 'settled']),
      },
    });
    if (!round || version < 1) {
      throw new ProtocolError('NOT_FOUND', `no aggregated round produced version ${version}`);
    }
    const groups = await this.ds
      .getRepository(RoundGroup)
      .find({ where: { roundId: round.id, state: 'aggregated' }, order: { index: 'ASC' } });
    return {
      version,
      round: round.number,
      ledgerRound: round.ledgerRound,
      groups: groups.map((g) => ({
        index: g.index,
        sumHash: g.sumHash,
        weight: g.weight,
        mean: g.sum!.toString('base64'),
      })),
    };
  }

  /**
   * Model versions never change once stored: downloads in a round are served from memory, and
   * every agent of a round, asking for the new version at once, shares one read of it (two files
   * per agent, each row about twice the weights' size as bytea text). The 16 most recent stay.
   */
  private readonly versions = new SharedReads<string, ModelVersion>(16);

  async get(bountyId: number, version?: number): Promise<ModelVersion> {
    const row =
      version === undefined
        ? await this.latest(bountyId)
        : await this.versions.get(`${bountyId}:${version}`, () =>
            this.ds.getRepository(ModelVersion).findOneBy({ bountyId, version }),
          );
    if (!row)
      throw new ProtocolError(
        'NOT_FOUND',
        `no model version ${version ?? 'latest'} of bounty ${bountyId}`,
      );
    return row;
  }

  /** Keeps a stored (committed) version in memory. */
  remember(row: ModelVersion): void {
    this.versions.set(`${row.bountyId}:${row.version}`, row);
  }

  async list(bountyId: number): Promise<{ version: number; hash: string; createdAt: Date }[]> {
    return this.ds.getRepository(ModelVersion).find({
      where: { bountyId },
      select: { version: true, hash: true, createdAt: true },
      order: { version: 'ASC' },
    });
  }

  weightsOf(row: ModelVersion): Float32Array {
    return bytesToWeights(row.weights);
  }
}
