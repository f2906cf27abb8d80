/**
 * Envelope of the agent namespace (`/agents`). Stage payloads inside are the SecAgg+ messages of
 * `aggregation/`, carried as schema-checked bytes.
 *
 * agent -> server (each with an acknowledgement `{ ok: true, ... }` or `{ error: { code, message } }`):
 *   join   { bountyId, certificate? }         enter a bounty's pool; resumes an active round
 *   stage  { roundId, stage, message: frame, samples? } one SecAgg+ stage message
 *   status {}                                 rounds taken part in, scores, rewards
 * server -> agent:
 *   round        RoundStart                   you are in round r, group g: fetch the model, train
 *   stage        StageOpen                    the server's message opening a stage for you
 *   round-end    { roundId, state, reason? }  the round (for you) is over
 *   reward       { roundId, bountyId, round, score, reward }
 */
import { z } from 'zod';
import { AGENT_STAGES } from '../db/entities.js';
import { Id, MAX_ID, SerialId } from '../input.js';

/**
 * `certificate`: the wallet's EIP-191 certificate of the agent's Ed25519 key for this bounty
 * (aggregation/secagg/identity.ts), checked once here; the agent's keys and consistency checks are
 * signed with that key in every round.
 */
export const JoinMsg = z.object({
  bountyId: Id,
  certificate: z
    .object({
      key: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
      signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
    })
    .optional(),
});

/** The SecAgg+ message itself is parsed against its stage's schema by the rounds service. */
export const StageMsg = z.object({
  roundId: SerialId,
  stage: z.enum(AGENT_STAGES),
  /** The SecAgg+ message as one binary frame (gateway/frame.ts). */
  message: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'message must be a binary frame'),
  /** Sample weight, declared with the masked input (rewards scale by it). */
  samples: z.number().int().min(1).max(MAX_ID).optional(),
});
export type StageMsg = z.infer<typeof StageMsg>;

/** `round`: aggregation's RoundStart (one schema, parsed by the agent). */
export type { RoundStart } from '../../aggregation/index.js';

export interface StageOpen {
  roundId: number;
  stage: (typeof AGENT_STAGES)[number];
  /** The server's stage message as one binary frame. */
  payload: Uint8Array;
  deadline: number;
}
