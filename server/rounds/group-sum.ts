/**
 * One group's hop at the close of the round: its unmasked sum is checked against the influence
 * bound and the members' declared samples (aggregation/influence.ts), decoded to the group's mean
 * update and stored with its hash and offenders; members outside the sum are marked dropped and
 * every stage message of the group is deleted (only the sum is kept). A sum that breaks the bound
 * throws an AggregationError, and the caller leaves the group out with that reason.
 */
import type { EntityManager } from 'typeorm';
import {
  aggregateHash,
  checkGroupSum,
  decodeSum,
  type GroupResult,
  type QuantConfig,
} from '../../aggregation/index.js';
import { RoundGroup } from '../db/entities.js';
import { weightsToBytes } from '../models/artifact.js';

export async function storeGroupSum(
  em: EntityManager,
  g: RoundGroup,
  res: Pick<GroupResult, 'sum' | 'included' | 'badShares' | 'excluded'>,
  q: QuantConfig,
): Promise<{ mean: Float32Array; weight: number }> {
  const [{ declared }] = (await em.query(
    `SELECT coalesce(sum(samples), 0)::float8 AS declared FROM participant
      WHERE group_id = $1 AND address = ANY($2)`,
    [g.id, res.included],
  )) as { declared: number }[];
  checkGroupSum(res.sum, q, { members: res.included.length, declaredWeight: declared });
  const { mean, totalWeight } = decodeSum(res.sum, q);
  await em.update(
    RoundGroup,
    { id: g.id },
    {
      state: 'aggregated',
      survivors: res.included,
      sum: Buffer.from(weightsToBytes(mean)),
      weight: totalWeight,
      // Bound by the round record's commitment; replay audits check the aggregate by it.
      sumHash: aggregateHash(mean),
      // Outvoted unmask shares, and members left out because too few accepted their shares.
      offenders: [
        ...res.badShares,
        ...res.excluded.map((holder) => ({ holder, secret: 'shares-rejected' })),
      ],
    },
  );
  // Participants outside the sum (dropped after sending) earn nothing this round.
  await em.query(
    `UPDATE participant SET progress = 'dropped' WHERE group_id = $1 AND NOT (address = ANY($2))`,
    [g.id, res.included],
  );
  // Every stage's messages (keys, shares, unmask shares too): only the sum is kept.
  await em.query(`DELETE FROM stage_message WHERE group_id = $1`, [g.id]);
  return { mean, weight: totalWeight };
}
