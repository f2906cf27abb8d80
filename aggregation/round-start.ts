/**
 * The message that puts an agent in a round (`round` on the agents' socket), one zod schema that
 * the aggregator types its message with and the agent parses it against: an agent takes nothing
 * from the server unchecked (its group and quantisation are then checked against the bounty's
 * spec, round-params.ts).
 */
import * as z from 'zod';
import { PRG_NAMES } from './defaults.js';

const int = z.number().int();
const id = z.string().min(1).max(200);

export const RoundStart = z.object({
  roundId: int.positive(),
  bountyId: int.nonnegative(),
  /** The aggregator's round number (every round it opened, aborted ones included). */
  round: int.positive(),
  modelVersion: int.nonnegative(),
  /** GET path of the model version to train from. */
  modelUrl: z.string().regex(/^\/models\/\d+\/versions\/\d+\/model\.json$/),
  group: z.object({
    index: int.nonnegative(),
    members: z.array(id).min(1).max(100_000),
    threshold: int.min(2),
    /** 1-based position of the agent in `members`. */
    myId: int.positive(),
    /** SecAgg+ parameters every member must agree on. */
    neighbours: int.min(2),
    key: id,
    round: id,
    dim: int.positive(),
    /** The mask PRG (prg.ts). */
    prg: z.enum(PRG_NAMES),
  }),
  quant: z.object({
    clip: z.number().positive(),
    scale: z.number().positive(),
    maxClients: int.positive(),
    maxWeight: int.positive(),
  }),
  train: z.object({
    epochs: int.positive(),
    batchSize: int.positive(),
    learningRate: z.number().positive(),
  }),
  /** Unix milliseconds: the first stage closes then. */
  deadline: z.number(),
  /** Benchmarks only (BountySpec.plaintext): the update goes unmasked as the masked stage's message. */
  plaintext: z.literal(true).optional(),
});
export type RoundStart = z.infer<typeof RoundStart>;
