/**
 * What a watcher of a bounty sees of a round on the aggregator's public `/watch` namespace
 * (server/web/round-watch.ts reads it from PostgreSQL; the web app's live view shows it). Types
 * only, so the web app imports them without bundling anything.
 */

export interface GroupProgress {
  index: number;
  state: string;
  members: number;
  survivors: number;
  threshold: number;
  dropReason: string | null;
  /** Members whose last answered stage is each key ('selected', 'keys', ... 'unmask'). */
  progress: Record<string, number>;
}

export interface RoundProgress {
  bountyId: number;
  id: number;
  number: number;
  ledgerRound: number | null;
  state: string;
  abortReason: string | null;
  modelVersion: number;
  stageDeadline: string | null;
  /** Milliseconds since the epoch at which each stage opened or the round reached a state. */
  timing: Record<string, number>;
  groups: GroupProgress[];
}
