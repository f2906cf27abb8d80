import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Bounty } from '../db/entities.js';
import { ProtocolError } from '../errors.js';

@Injectable()
export class BountiesService {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

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
      strategy: b.spec.strategy,
      licence: b.spec.licence,
      createdAt: b.createdAt,
    };
  }
}
