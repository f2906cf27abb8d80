/**
 * What a watcher of a bounty sees of its latest rounds: state, stage deadline, per-stage timings and
 * per group how many members have answered each stage. Read from Postgres (where the round state
 * lives), so it shows rounds run by any instance without touching the rounds service.
 */
import type { DataSource } from 'typeorm';
import type { RoundProgress } from '../../aggregation/round-progress.js';

export type { GroupProgress, RoundProgress } from '../../aggregation/round-progress.js';

/** How many of a bounty's latest rounds are watched: the running one and the two settling behind. */
export const WATCHED_ROUNDS = 3;

export async function latestRounds(ds: DataSource, bountyIds: number[]): Promise<RoundProgress[]> {
  if (bountyIds.length === 0) return [];
  return (await ds.query(
    `SELECT r.bounty_id AS "bountyId", r.id, r.number, r.ledger_round AS "ledgerRound", r.state,
            r.abort_reason AS "abortReason", r.model_version AS "modelVersion",
            r.stage_deadline AS "stageDeadline", r.timing,
            coalesce((SELECT json_agg(json_build_object(
                      'index', g.index, 'state', g.state, 'members', cardinality(g.members),
                      'survivors', cardinality(g.survivors), 'threshold', g.threshold,
                      'dropReason', g.drop_reason,
                      'progress', coalesce((SELECT json_object_agg(p.progress, p.n) FROM
                        (SELECT progress, count(*)::int AS n FROM participant
                          WHERE group_id = g.id GROUP BY progress) p), '{}'::json))
                      ORDER BY g.index) FROM round_group g WHERE g.round_id = r.id), '[]'::json) AS groups
       FROM (SELECT *, row_number() OVER (PARTITION BY bounty_id ORDER BY number DESC) AS k
               FROM round WHERE bounty_id = ANY($1)) r
      WHERE r.k <= $2
      ORDER BY r.bounty_id, r.number`,
    [bountyIds, WATCHED_ROUNDS],
  )) as RoundProgress[];
}
