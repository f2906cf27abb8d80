/**
 * Wire messages of the four stages, as zod schemas parsed once at the edge. Keys, shares and
 * vectors travel as bytes (Uint8Array; Socket.IO carries them as binary attachments), never as
 * a deserialised object graph.
 */
import * as z from 'zod';
import { fail } from '../errors.js';

const bytes = (len?: number, max = 1 << 30) =>
  z
    .custom<Uint8Array<ArrayBufferLike>>((b) => b instanceof Uint8Array, {
      message: 'expected bytes',
    })
    .refine((b) => (len === undefined ? b.length <= max : b.length === len), {
      message: len === undefined ? `at most ${max} bytes` : `exactly ${len} bytes`,
    });

const id = z.string().min(1).max(200);
const header = { round: id, group: id, client: id };

/** An Ed25519 signature of a round message, under the sender's certified key (identity.ts). */
const signature = bytes(64);

/** The wallet's certificate of the sender's per-bounty Ed25519 key (identity.ts). */
export const Certificate = z.object({
  key: bytes(32),
  signature: z
    .string()
    .regex(/^0x[0-9a-fA-F]{130}$/, 'a 65-byte wallet signature in hex')
    .max(200),
});

/**
 * Stage 1: a client's two X25519 public keys and a commitment to its self-mask seed, signed with its
 * Ed25519 key, and the wallet's certificate of that key. Both are absent only in unsigned
 * simulations; a verifying peer or server refuses an entry without them.
 */
export const AdvertiseKeys = z.object({
  type: z.literal('advertise'),
  ...header,
  cPk: bytes(32),
  sPk: bytes(32),
  bCommit: bytes(32),
  cert: Certificate.optional(),
  signature: signature.optional(),
});
export type AdvertiseKeys = z.infer<typeof AdvertiseKeys>;

/** Stage 2: encrypted shares of b_i and s_i, one per neighbour; the server only relays them. */
export const ShareKeys = z.object({
  type: z.literal('shares'),
  ...header,
  shares: z.array(z.object({ to: id, ciphertext: bytes(undefined, 4096) })).max(255),
});
export type ShareKeys = z.infer<typeof ShareKeys>;

/** What the server forwards to one client after stage 2: the shares addressed to it. */
export const ShareInbox = z
  .array(z.object({ from: id, ciphertext: bytes(undefined, 4096) }))
  .max(255);
export type ShareInbox = z.infer<typeof ShareInbox>;

/**
 * Stage 3: the masked input y_i, little-endian 32-bit words, and the neighbours whose boxed shares
 * did not open or parse: the client left their pairwise masks out of y_i and holds no shares of
 * theirs (a complaint; the server resolves it without trusting either side, see server.ts). A
 * complaint carries the pair seed s_ij with each rejected neighbour, in `rejected` order: if the
 * accused stays in the sum, its y_j has the pair's mask and the server removes it with this seed,
 * so the group does not depend on the complainer staying to the end. The seed is of a pair whose
 * mask is not in y_i, so it reveals nothing of x_i.
 */
export const MaskedInput = z.object({
  type: z.literal('masked'),
  ...header,
  vector: bytes(),
  rejected: z.array(id).max(255).optional(),
  rejectedSeeds: z
    .array(z.object({ with: id, seed: bytes(32) }))
    .max(255)
    .optional(),
});
export type MaskedInput = z.infer<typeof MaskedInput>;

/**
 * Sent by the server after stage 3: who survived (U3), who dropped after sharing (U2 \ U3), and
 * who is excluded from the sum although it sent a masked input (too few holders accepted its
 * shares for its self-mask to be rebuilt), with every client's rejections.
 */
export const UnmaskRequest = z.object({
  round: id,
  group: id,
  survivors: z.array(id),
  dropped: z.array(id),
  excluded: z.array(id).default([]),
});
export type UnmaskRequest = z.infer<typeof UnmaskRequest>;

/**
 * Stage 3½, the consistency check (Bonawitz et al. 2017, §4, round 3 "ConsistencyCheck"): each
 * survivor signs the unmask request it was shown (survivors, dropouts, excluded) with its
 * certified Ed25519 key (absent only in unsigned simulations).
 */
export const Confirm = z.object({
  type: z.literal('confirm'),
  ...header,
  signature: signature.optional(),
});
export type Confirm = z.infer<typeof Confirm>;

/**
 * What the server forwards after the consistency check: the survivors' signatures. A client
 * reveals shares only once at least t survivors signed the very request it was shown, so a
 * server that shows different clients different survivor sets learns nothing from either.
 */
export const Confirmations = z
  .array(z.object({ client: id, signature: signature.optional() }))
  // One per survivor of the group; a frame carries at most 4,096 byte fields (frame.ts).
  .max(4096);
export type Confirmations = z.infer<typeof Confirmations>;

/**
 * Stage 4: shares of b_j for surviving neighbours and of s_j for dropped ones, and the pairwise
 * seeds s_ij this client holds with every excluded neighbour it accepted (this client's y has the
 * pair's mask, the excluded one's input is not in the sum). Seeds with neighbours it rejected went
 * with its complaint at stage 3.
 */
export const Unmask = z.object({
  type: z.literal('unmask'),
  ...header,
  bShares: z.array(z.object({ of: id, share: bytes(33) })).max(256),
  sShares: z.array(z.object({ of: id, share: bytes(33) })).max(256),
  pairSeeds: z
    .array(z.object({ with: id, seed: bytes(32) }))
    .max(256)
    .optional(),
});
export type Unmask = z.infer<typeof Unmask>;

export const ClientMessage = z.discriminatedUnion('type', [
  AdvertiseKeys,
  ShareKeys,
  MaskedInput,
  Confirm,
  Unmask,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** Parses untrusted input against a schema, turning any failure into a BAD_MESSAGE error. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    fail('BAD_MESSAGE', `${issue?.path.join('.') || 'message'}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}
