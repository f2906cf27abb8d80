import { Inject, Injectable } from '@nestjs/common';
import { DataSource, In, type EntityManager } from 'typeorm';
import { Bounty, ModelVersion, Round, RoundGroup } from '../db/entities.js';
import { ProtocolError } from '../errors.js';
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
   * Model versions never change once stored: downloads in a round are served from memory. Every
   * agent of a round asks for the new version at once; they share one read of it (`loading`), not
   * one each (two files per agent, each row about twice the weights' size as bytea text).
   */
  private readonly cache = new Map<string, ModelVersion>();
  private readonly loading = new Map<string, Promise<ModelVersion | null>>();

  async get(bountyId: number, version?: number): Promise<ModelVersion> {
    const key = `${bountyId}:${version}`;
    const hit = version === undefined ? undefined : this.cache.get(key);
    if (hit) return hit;
    let row: ModelVersion | null;
    if (version === undefined) {
      row = await this.latest(bountyId);
    } else {
      let load = this.loading.get(key);
      if (!load) {
        load = this.ds.getRepository(ModelVersion).findOneBy({ bountyId, version });
        this.loading.set(key, load);
        void load.finally(() => this.loading.delete(key)).catch(() => undefined);
      }
      row = await load;
      if (row) this.remember(row);
    }
    if (!row)
      throw new ProtocolError(
        'NOT_FOUND',
        `no model version ${version ?? 'latest'} of bounty ${bountyId}`,
      );
    return row;
  }

  /** Keeps a stored (committed) version in memory; the 16 most recent stay. */
  remember(row: ModelVersion): void {
    const key = `${row.bountyId}:${row.version}`;
    if (this.cache.has(key)) return;
    if (this.cache.size >= 16) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, row);
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
