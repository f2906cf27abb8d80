/**
 * The client side of SecAgg+ for one group, as a state machine from messages to messages
 * (Bonawitz et al. 2017, Fig. 4; neighbour graph of Bell et al. 2020). A client refuses any
 * request that would let the server learn its input: too few neighbours, or revealing both
 * the self-mask seed and the masking key of the same peer.
 */
import { AggregationError, check, fail } from '../errors.js';
import type { ClientId, Quantized, Seed } from '../types.js';
import { WordAccumulator } from '../words.js';
import { neighbourGraph } from './graph.js';
import {
  bytesEqual,
  commitSeed,
  consistencyPayload,
  generateKeyPair,
  keysPayload,
  boxKey,
  openShareWith,
  pairSeed,
  pairSign,
  randomSeed,
  sealShareWith,
  sodiumReady,
  type KeyPair,
} from './keys.js';
import {
  AdvertiseKeys,
  Confirmations,
  MaskedInput,
  type Confirm,
  ShareInbox,
  ShareKeys,
  Unmask,
  UnmaskRequest,
  parse,
} from './messages.js';
import {
  keysSigned,
  signRound,
  verifyRound,
  type AgentIdentity,
  type CertificateCheck,
} from './identity.js';
import { checkParams, type GroupParams } from './params.js';
import { SHARE_BYTES, splitSecret } from './shamir.js';

type Stage = 'new' | 'advertised' | 'shared' | 'masked' | 'confirmed' | 'done';

interface HeldShares {
  b: Uint8Array;
  s: Uint8Array;
}

export interface SecAggClientOptions {
  /**
   * This client's certified Ed25519 key (identity.ts): it signs the advertised keys and the
   * consistency check, and its certificate travels with the keys. Without one, nothing is signed.
   */
  identity?: AgentIdentity;
  /**
   * Checks a peer's wallet certificate (identity.ts CertificateCache: one ecrecover per peer and
   * bounty); with one, every roster entry and every confirmation must carry a good Ed25519
   * signature under a certified key. Without one, keys are taken as relayed.
   */
  certificates?: CertificateCheck;
}

export class SecAggClient {
  private stage: Stage = 'new';
  private c!: KeyPair;
  private s!: KeyPair;
  private b!: Seed;
  private roster = new Map<ClientId, AdvertiseKeys>();
  private neighbours: readonly ClientId[] = [];
  /** Shares this client holds: its own and those its neighbours sent it. */
  private held = new Map<ClientId, HeldShares>();
  /** Neighbours that completed stage 2 and whose shares opened (their masks are in y_i). */
  private sharers: ClientId[] = [];
  /** Neighbours whose relayed shares did not open or parse (left out of y_i; a complaint). */
  private rejected: ClientId[] = [];
  /** The unmask request this client confirmed at the consistency check, and its signature. */
  private request?: UnmaskRequest;
  private signed?: Uint8Array;
  /** Pairwise mask seeds with each neighbour, agreed once the roster is known. */
  private pairSeeds = new Map<ClientId, Seed>();
  /** Box keys with each neighbour (X25519 done once, at stage 2). */
  private boxKeys = new Map<ClientId, Uint8Array>();
  /**
   * The vector y_i is built in, allocated and touched at stage 2 while the client waits for the
   * others' shares, so that stage 3 spends its time on the masks themselves.
   */
  private acc?: WordAccumulator;

  constructor(
    readonly id: ClientId,
    readonly params: GroupParams,
    private readonly opts: SecAggClientOptions = {},
  ) {
    checkParams(params);
  }

  get currentStage(): Stage {
    return this.stage;
  }

  private expect(stage: Stage, next: string): void {
    if (this.stage !== stage) fail('STAGE_CLOSED', `cannot ${next} in stage ${this.stage}`);
  }

  private header() {
    return { round: this.params.round, group: this.params.group, client: this.id };
  }

  /** Stage 1: fresh key pairs and self-mask seed; public keys signed with the certified key. */
  async advertise(): Promise<AdvertiseKeys> {
    this.expect('new', 'advertise keys');
    await sodiumReady();
    this.c = generateKeyPair();
    this.s = generateKeyPair();
    this.b = randomSeed();
    const identity = this.opts.identity;
    const unsigned = {
      ...this.header(),
      cPk: this.c.publicKey,
      sPk: this.s.publicKey,
      bCommit: commitSeed(this.b, this.params.round, this.params.group, this.id),
      ...(identity ? { cert: identity.certificate } : {}),
    };
    this.stage = 'advertised';
    return identity
      ? { type: 'advertise', ...unsigned, signature: signRound(identity, keysPayload(unsigned)) }
      : { type: 'advertise', ...unsigned };
  }

  /** Stage 2: checks the roster the server relayed, then shares b_i and s_i with the neighbours. */
  async shareKeys(rosterInput: unknown): Promise<ShareKeys> {
    this.expect('advertised', 'share keys');
    const roster = (
      Array.isArray(rosterInput) ? rosterInput : fail('BAD_MESSAGE', 'roster is not a list')
    ).map((m) => parse(AdvertiseKeys, m));
    const byId = new Map<ClientId, AdvertiseKeys>();
    for (const m of roster) {
      check(
        m.round === this.params.round && m.group === this.params.group,
        'WRONG_ROUND',
        `roster entry of ${m.client}`,
      );
      check(!byId.has(m.client), 'DUPLICATE', `${m.client} appears twice in the roster`);
      if (this.opts.certificates && !keysSigned(m, this.opts.certificates)) {
        fail('BAD_SIGNATURE', `keys of ${m.client} are not signed by a key its wallet certified`);
      }
      byId.set(m.client, m);
    }
    const mine = byId.get(this.id);
    check(
      mine !== undefined &&
        bytesEqual(mine.cPk, this.c.publicKey) &&
        bytesEqual(mine.sPk, this.s.publicKey),
      'PROTOCOL_VIOLATION',
      'the roster does not carry this client’s own keys',
    );
    check(byId.size >= this.params.threshold, 'BELOW_THRESHOLD', `roster of ${byId.size} < t`);
    const keys = new Set<string>();
    for (const m of byId.values()) {
      const k = Buffer.from(m.sPk).toString('hex') + Buffer.from(m.cPk).toString('hex');
      check(!keys.has(k), 'PROTOCOL_VIOLATION', `${m.client} reuses another member’s keys`);
      keys.add(k);
    }
    this.roster = byId;
    const graph = neighbourGraph(
      [...byId.keys()],
      this.params.neighbours,
      this.params.round,
      this.params.group,
    );
    this.neighbours = graph.get(this.id)!;
    check(
      this.neighbours.length + 1 >= this.params.threshold,
      'BELOW_THRESHOLD',
      `${this.neighbours.length} neighbours cannot hold a threshold of ${this.params.threshold}`,
    );
    const holders = [this.id, ...this.neighbours];
    const [bShares, sShares] = await Promise.all([
      splitSecret(this.b, holders.length, this.params.threshold),
      splitSecret(this.s.secretKey, holders.length, this.params.threshold),
    ]);
    this.held.set(this.id, { b: bShares[0]!, s: sShares[0]! });
    for (const j of this.neighbours) {
      const { round, group } = this.params;
      this.pairSeeds.set(j, pairSeed(this.s.secretKey, byId.get(j)!.sPk, round, group, this.id, j));
      this.boxKeys.set(j, boxKey(byId.get(j)!.cPk, this.c));
    }
    this.acc = new WordAccumulator(this.params.dim);
    this.acc.view().fill(0);
    const shares = this.neighbours.map((to, i) => ({
      to,
      ciphertext: sealShareWith(
        { from: this.id, to, bShare: bShares[i + 1]!, sShare: sShares[i + 1]! },
        this.boxKeys.get(to)!,
      ),
    }));
    this.stage = 'shared';
    return { type: 'shares', ...this.header(), shares };
  }

  /**
   * Stage 3: opens the shares relayed to it, then sends
   *   y_i = x_i + PRG(b_i) + sum over neighbours j that shared: ±PRG(s_ij)   (mod 2^32).
   */
  async maskInput(inboxInput: unknown, input: Quantized): Promise<MaskedInput> {
    this.expect('shared', 'send a masked input');
    check(
      input.length === this.params.dim,
      'VECTOR_LENGTH',
      `input has ${input.length} words, round wants ${this.params.dim}`,
    );
    const inbox = parse(ShareInbox, inboxInput);
    const nb = new Set(this.neighbours);
    const seen = new Set<ClientId>();
    const rejected: ClientId[] = [];
    for (const { from, ciphertext } of inbox) {
      check(nb.has(from), 'NOT_IN_GROUP', `${from} is not a neighbour of ${this.id}`);
      check(!seen.has(from), 'DUPLICATE', `two shares from ${from}`);
      seen.add(from);
      // A share that does not open, parse or name this pair is the sender's fault (the box is
      // authenticated under the pair's key): leave that neighbour out instead of failing.
      let p: ReturnType<typeof openShareWith> | undefined;
      try {
        p = openShareWith(ciphertext, this.boxKeys.get(from)!);
      } catch (e) {
        if (!(e instanceof AggregationError && e.code === 'BAD_SHARE')) throw e;
      }
      if (!p || p.from !== from || p.to !== this.id || p.bShare.length !== SHARE_BYTES) {
        rejected.push(from);
        continue;
      }
      this.held.set(from, { b: p.bShare, s: p.sShare });
    }
    this.rejected = rejected.sort();
    this.sharers = [...seen].filter((j) => !rejected.includes(j)).sort();
    // Fewer than t - 1 accepted neighbours: too few pairwise masks to hide x_i. Refuse.
    check(
      this.sharers.length + 1 >= this.params.threshold,
      'BELOW_THRESHOLD',
      `only ${this.sharers.length} neighbours shared keys; threshold ${this.params.threshold}`,
    );
    const acc = this.acc!.set(input);
    this.acc = undefined;
    const prg = this.params.prg;
    acc.addKeystream(this.b, 1, prg);
    for (const j of this.sharers)
      acc.addKeystream(this.pairSeeds.get(j)!, pairSign(this.id, j), prg);
    this.stage = 'masked';
    // Pair seeds stay until stage 4: an excluded peer's is revealed there. Those with rejected
    // neighbours go with the complaint now (their masks are not in y_i).
    this.boxKeys.clear();
    const rejectedSeeds = this.rejected.map((j) => ({ with: j, seed: this.pairSeeds.get(j)! }));
    for (const j of this.rejected) this.pairSeeds.delete(j);
    // The accumulator is dropped here, so its memory can go on the wire without a copy.
    return {
      type: 'masked',
      ...this.header(),
      vector: acc.bytesView(),
      ...(this.rejected.length ? { rejected: this.rejected, rejectedSeeds } : {}),
    };
  }

  /**
   * The consistency check (Bonawitz et al. 2017, §4 round 3): checks the unmask request the
   * server shows this client and signs it. Survivors, dropouts and excluded must be disjoint, or
   * the server could unmask one input; nothing is revealed yet.
   */
  async confirm(requestInput: unknown): Promise<Confirm> {
    this.expect('masked', 'confirm the survivors');
    const req = parse(UnmaskRequest, requestInput);
    check(
      req.round === this.params.round && req.group === this.params.group,
      'WRONG_ROUND',
      'unmask request for another group',
    );
    const survivors = new Set(req.survivors);
    const dropped = new Set(req.dropped);
    const excluded = new Set(req.excluded);
    check(
      survivors.size === req.survivors.length &&
        dropped.size === req.dropped.length &&
        excluded.size === req.excluded.length,
      'PROTOCOL_VIOLATION',
      'repeated ids',
    );
    for (const d of [...dropped, ...excluded]) {
      check(!survivors.has(d), 'PROTOCOL_VIOLATION', `${d} is listed both as survivor and dropout`);
    }
    for (const d of excluded) {
      check(!dropped.has(d), 'PROTOCOL_VIOLATION', `${d} is listed as dropped and excluded`);
    }
    check(
      survivors.has(this.id),
      'PROTOCOL_VIOLATION',
      'this client is not listed among the survivors',
    );
    check(
      survivors.size >= this.params.threshold,
      'BELOW_THRESHOLD',
      `${survivors.size} survivors < t`,
    );
    const sent = new Set([...this.sharers, ...this.rejected]);
    for (const j of survivors) {
      check(
        j === this.id || this.roster.has(j),
        'NOT_IN_GROUP',
        `survivor ${j} is not in the roster`,
      );
      // A neighbour that never shared keys cannot have sent a masked input this client knows of.
      check(
        !(this.neighbours.includes(j) && !sent.has(j)),
        'PROTOCOL_VIOLATION',
        `${j} never shared keys`,
      );
    }
    for (const j of [...dropped, ...excluded]) {
      check(this.roster.has(j), 'NOT_IN_GROUP', `dropout ${j} is not in the roster`);
    }
    this.request = req;
    this.stage = 'confirmed';
    const identity = this.opts.identity;
    if (!identity) return { type: 'confirm', ...this.header() };
    this.signed = signRound(identity, consistencyPayload(req));
    return { type: 'confirm', ...this.header(), signature: this.signed };
  }

  /**
   * Stage 4: once at least t survivors signed the request this client was shown, shares of b_j
   * for each surviving holder-peer and of s_j for each dropped one, and the pair seeds below.
   */
  async unmask(confirmationsInput: unknown): Promise<Unmask> {
    this.expect('confirmed', 'unmask');
    const req = this.request!;
    const confirmations = parse(Confirmations, confirmationsInput);
    const survivors = new Set(req.survivors);
    const dropped = new Set(req.dropped);
    const excluded = new Set(req.excluded);
    const payload = consistencyPayload(req);
    // Checked in the order given until t signers are verified: t signatures over the set this
    // client was shown is what the check needs (Bonawitz et al. 2017, round 4), and each further
    // one would cost an Ed25519 verification without adding to it. A bad one met before that
    // fails the check. This client's own confirmation is compared, not verified.
    const signers = new Set<ClientId>();
    for (const c of confirmations) {
      check(survivors.has(c.client), 'PROTOCOL_VIOLATION', `${c.client} is not a survivor`);
      check(!signers.has(c.client), 'DUPLICATE', `two confirmations by ${c.client}`);
      if (signers.size >= this.params.threshold) continue;
      // Under the key the signer's wallet certified in the roster (checked at stage 2).
      const key = this.roster.get(c.client)?.cert?.key;
      const own =
        c.client === this.id && this.signed && c.signature && bytesEqual(c.signature, this.signed);
      if (
        this.opts.certificates &&
        !own &&
        !(key && c.signature && verifyRound(key, payload, c.signature))
      ) {
        fail(
          'PROTOCOL_VIOLATION',
          `${c.client} did not sign the survivor set this client was shown`,
        );
      }
      signers.add(c.client);
    }
    check(
      signers.size >= this.params.threshold,
      'BELOW_THRESHOLD',
      `${signers.size} survivors confirmed the survivor set; threshold ${this.params.threshold}`,
    );
    const bShares = [...survivors]
      .filter((j) => this.held.has(j))
      .sort()
      .map((of) => ({ of, share: this.held.get(of)!.b }));
    const sShares = [...dropped]
      .filter((j) => j !== this.id && this.held.has(j))
      .sort()
      .map((of) => ({ of, share: this.held.get(of)!.s }));
    // Pair seeds with excluded neighbours it accepted (ours has the mask, theirs is not summed):
    // not the mask of a summed pair, so x_i stays hidden behind b_i and its other pairs.
    const revealed = this.sharers.filter((j) => excluded.has(j)).sort();
    const pairSeeds = revealed.map((j) => ({ with: j, seed: this.pairSeeds.get(j)! }));
    this.pairSeeds.clear();
    this.stage = 'done';
    return {
      type: 'unmask',
      ...this.header(),
      bShares,
      sShares,
      ...(pairSeeds.length ? { pairSeeds } : {}),
    };
  }
}
