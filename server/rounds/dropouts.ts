/**
 * Dropouts: an agent offline for the grace period in a stage it owes a message for is marked
 * `dropped` for that round (SecAgg+ recovers its masks if it dropped after sharing keys). The
 * stage then waits for nobody who left; the caller closes it at once when nobody else is owed.
 */
import type { DataSource } from 'typeorm';
import { AGENT_STAGES_SQL, OWED_PROGRESS_SQL, PREV, type AgentStage } from './stages.js';

/** Members of `roundId` still owing the stage after `stage` closed (none: close it now). */
export async function waitingFor(
  ds: DataSource,
  roundId: number,
  stage: AgentStage,
): Promise<number> {
  const [{ waiting }] = (await ds.query(
    `SELECT count(*)::int AS waiting FROM participant WHERE round_id = $1 AND progress = $2`,
    [roundId, PREV[stage]],
  )) as { waiting: number }[];
  return waiting;
}

/**
 * Marks `address` dropped in every active round whose open stage it owes; returns those rounds
 * and stages (each marking is conditional on the round still being in that stage).
 */
export async function dropOwing(
  ds: DataSource,
  address: string,
): Promise<{ roundId: number; stage: AgentStage }[]> {
  const rows = (await ds.query(
    `SELECT r.id, r.state FROM participant p JOIN round r ON r.id = p.round_id
      WHERE p.address = $1 AND r.state IN (${AGENT_STAGES_SQL})
        AND p.progress = ${OWED_PROGRESS_SQL}`,
    [address],
  )) as { id: number; state: AgentStage }[];
  const dropped: { roundId: number; stage: AgentStage }[] = [];
  for (const r of rows) {
    // TypeORM returns [rows, count] for an UPDATE.
    const [, changed] = (await ds.query(
      `UPDATE participant p SET progress = 'dropped' FROM round r
        WHERE p.round_id = $1 AND p.address = $2 AND r.id = p.round_id AND r.state = $3
          AND p.progress = $4`,
      [r.id, address, r.state, PREV[r.state]],
    )) as [unknown[], number];
    if (changed) dropped.push({ roundId: r.id, stage: r.state });
  }
  return dropped;
}
