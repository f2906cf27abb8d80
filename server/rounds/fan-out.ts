/**
 * What leaves the round for agents, through the hub (any instance's socket, by room
 * `agent:<address>`): the round start for every member, a closed stage's messages (members of a
 * group often get the same one, the roster: encoded once), and the end of a round.
 */
import type { DataSource } from 'typeorm';
import { encodeFrame } from '../../aggregation/index.js';
import { Participant, type AgentStage, type RoundState } from '../db/entities.js';
import type { Hub } from '../gateway/hub.js';
import { roundStart, type OpenedRound } from './opener.js';

export function sendRoundStarts(hub: Hub, opened: OpenedRound, plaintext: boolean): void {
  const { bounty, round, groups, deadline } = opened;
  for (const g of groups) {
    for (const address of g.members)
      hub.toAgent(address, 'round', roundStart(bounty, round, g, address, deadline, plaintext));
  }
}

/** Each member's message of the stage that opens (`stage`), with its deadline. */
export function sendStage(
  hub: Hub,
  roundId: number,
  stage: AgentStage,
  out: readonly { address: string; payload: unknown }[],
  deadline: number,
): void {
  const frames = new Map<unknown, Uint8Array>();
  for (const o of out) {
    let payload = frames.get(o.payload);
    if (!payload) frames.set(o.payload, (payload = encodeFrame(o.payload)));
    hub.toAgent(o.address, 'stage', { roundId, stage, payload, deadline });
  }
}

export async function sendRoundEnd(
  ds: DataSource,
  hub: Hub,
  roundId: number,
  state: RoundState,
  reason?: string,
): Promise<void> {
  const ps = await ds.getRepository(Participant).findBy({ roundId });
  hub.toAgents(
    ps.map((p) => p.address),
    'round-end',
    { roundId, state, reason },
  );
}
