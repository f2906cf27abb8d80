/**
 * The server side of SecAgg+ for one group (Bonawitz et al. 2017, Fig. 4; Bell et al. 2020).
 * It relays keys and encrypted shares, collects masked inputs, and in the end reconstructs
 * exactly the secrets it needs: b_i of every survivor, s_j of every client that dropped after
 * sharing keys. It never sees an individual input: only the group's sum mod 2^32.
 *
 * Stages close when every expected member has answered or when the caller closes them
 * (a deadline). Each close checks the threshold; below it the group fails with a typed
 * error rather than ever producing a wrong sum.
 */
import { check, fail } from '../errors.js';
import type { ClientId, Quantized } from '../types.js';
import { WordAccumulator } from '../words.js';
import { neighbourGraph, type Neighbourhoods } from './graph.js';
import {
  bytesEqual,
  commitSeed,
  consistencyPayload,
  pairSeed,
  pairSign,
  publicKeyOf,
  sodiumReady,
} from './keys.js';
import {
  AdvertiseKeys,
  ClientMessage,
  Confirm,
  type Confirmations,
  MaskedInput,
  ShareKeys,
  Unmask,
  parse,
  type ShareInbox,
  type UnmaskRequest,
} from './messages.js';
import { keysSigned, verifyRound, type CertificateCheck } from './identity.js';
import { checkParams, type GroupParams } from './params.js';
import { robustCombine, type HeldShare } from './shamir.js';

export type ServerStage =
  'advertise' | 'share' | 'masked' | 'confirm' | 'unmask' | 'done' | 'failed';

export interface GroupResult {
  /** Sum mod 2^32 of the survivors' inputs. */
  sum: Quantized;
  /** Clients whose inputs are in the sum (U3). */
  included: ClientId[];
  /** Clients that dropped after sharing keys and whose masks were removed. */
  dropped: ClientId[];
  /**
   * Clients that sent a masked input but are left out of the sum: fewer than t holders accepted
   * their shares (rejections at stage 3), so their self-mask could not be rebuilt.
   */
  excluded: ClientId[];
  /**
   * Holders whose unmask shares were off the secret's polynomial, per secret (`b:<of>` or
   * `s:<of>`): outvoted by t good ones, and named so the round record can hold it against them.
   */
  badShares: { holder: ClientId; secret: string }[];
}

export class SecAggGroupServer {
  private stageNow: ServerStage = 'advertise';
  private failure?: string;
  private readonly members: ReadonlySet<ClientId>;
  private keys = new Map<ClientId, AdvertiseKeys>();
  private graph: Neighbourhoods = new Map();
  private shareMsgs = new Map<ClientId, ShareKeys>();
  private masked = new Map<ClientId, Uint8Array>();
  private confirms = new Map<ClientId, Uint8Array | undefined>();
  private unmasks = new Map<ClientId, Unmask>();
  private u2: ClientId[] = [];
  private u2Set: ReadonlySet<ClientId> = new Set();
  private u3: ClientId[] = [];
  /** The unmask request, fixed once stage 3 closes (computed once: every stage-4 message reads it). */
  private request?: UnmaskRequest;
  /** Per client, the neighbours whose shares it rejected at stage 3. */
  private rejections = new Map<ClientId, ReadonlySet<ClientId>>();
  /** Per complainer, the pair seed with each neighbour it rejected (sent with the complaint). */
  private complaintSeeds = new Map<ClientId, ReadonlyMap<ClientId, Uint8Array>>();
  /** Sent a masked input, but left out of the sum (see GroupResult.excluded). */
  private excluded: ClientId[] = [];

  constructor(
    readonly params: GroupParams,
    members: readonly ClientId[],
    /** With one, keys and confirmations must be signed under wallet-certified keys (identity.ts). */
    private readonly certificates?: CertificateCheck,
  ) {
    checkParams(params);
    check(new Set(members).size === members.length, 'CONFIG', 'duplicate members');
    check(members.length >= params.threshold, 'BELOW_THRESHOLD', `${members.length} members < t`);
    this.members = new Set(members);
  }

  get stage(): ServerStage {
    return this.stageNow;
  }

  get failureReason(): string | undefined {
    return this.failure;
  }

  /** Members expected in the open stage that have not answered yet. */
  pending(): ClientId[] {
    const survivors = this.stageNow === 'confirm' ? this.unmaskRequest().survivors : [];
    const [expected, got]: [readonly ClientId[], ReadonlyMap<ClientId, unknown>] =
      this.stageNow === 'advertise'
        ? [[...this.members], this.keys]
        : this.stageNow === 'share'
          ? [[...this.keys.keys()], this.shareMsgs]
          : this.stageNow === 'masked'
            ? [this.u2, this.masked]
            : this.stageNow === 'confirm'
              ? [survivors, this.confirms]
              : this.stageNow === 'unmask'
                ? [[...this.confirms.keys()], this.unmasks]
                : [[], new Map()];
    return expected.filter((c) => !got.has(c)).sort();
  }

  /** Accepts any stage's message from untrusted input; throws a typed error and changes nothing if bad. */
  async receive(input: unknown): Promise<void> {
    const msg = parse(ClientMessage, input);
    check(
      msg.round === this.params.round && msg.group === this.params.group,
      'WRONG_ROUND',
      `message for ${msg.round}/${msg.group}`,
    );
    check(
      this.members.has(msg.client),
      'NOT_IN_GROUP',
      `${msg.client} is not a member of this group`,
    );
    switch (msg.type) {
      case 'advertise':
        return this.receiveKeys(msg);
      case 'shares':
        return this.receiveShares(msg);
      case 'masked':
        return this.receiveMasked(msg);
      case 'confirm':
        return this.receiveConfirm(msg);
      case 'unmask':
        return this.receiveUnmask(msg);
    }
  }

  private open(stage: ServerStage, what: string): void {
    if (this.stageNow === 'failed') fail('STAGE_CLOSED', `group failed: ${this.failure}`);
    if (this.stageNow !== stage) fail('STAGE_CLOSED', `${what} arrived in stage ${this.stageNow}`);
  }

  private abort(code: 'BELOW_THRESHOLD' | 'RECONSTRUCTION_MISMATCH', why: string): never {
    this.stageNow = 'failed';
    this.failure = why;
    fail(code, why);
  }

  private async receiveKeys(input: AdvertiseKeys): Promise<void> {
    const m = parse(AdvertiseKeys, input);
    this.open('advertise', 'keys');
    check(!this.keys.has(m.client), 'DUPLICATE', `${m.client} already advertised keys`);
    if (this.certificates && !keysSigned(m, this.certificates)) {
      fail('BAD_SIGNATURE', `keys of ${m.client} are not signed by a key its wallet certified`);
    }
    this.keys.set(m.client, m);
  }

  /** Ends stage 1 and returns the roster every client gets (U1). */
  closeAdvertise(): AdvertiseKeys[] {
    this.open('advertise', 'close');
    if (this.keys.size < this.params.threshold) {
      this.abort(
        'BELOW_THRESHOLD',
        `${this.keys.size} clients advertised keys, threshold ${this.params.threshold}`,
      );
    }
    this.graph = neighbourGraph(
      [...this.keys.keys()],
      this.params.neighbours,
      this.params.round,
      this.params.group,
    );
    this.stageNow = 'share';
    return this.roster();
  }

  roster(): AdvertiseKeys[] {
    return [...this.keys.values()].sort((a, b) => (a.client < b.client ? -1 : 1));
  }

  private async receiveShares(input: ShareKeys): Promise<void> {
    const m = parse(ShareKeys, input);
    this.open('share', 'shares');
    check(this.keys.has(m.client), 'NOT_IN_GROUP', `${m.client} did not advertise keys`);
    check(!this.shareMsgs.has(m.client), 'DUPLICATE', `${m.client} already sent shares`);
    const want = this.graph.get(m.client)!;
    const got = m.shares.map((s) => s.to).sort();
    check(
      got.length === want.length && got.every((to, i) => to === want[i]),
      'BAD_SHARE',
      `${m.client} must send exactly one share to each of its ${want.length} neighbours`,
    );
    this.shareMsgs.set(m.client, m);
  }

  /** Ends stage 2; returns each sharer's inbox: the ciphertexts addressed to it (U2). */
  closeShares(): Map<ClientId, ShareInbox> {
    this.open('share', 'close');
    this.u2 = [...this.shareMsgs.keys()].sort();
    this.u2Set = new Set(this.u2);
    if (this.u2.length < this.params.threshold) {
      this.abort(
        'BELOW_THRESHOLD',
        `${this.u2.length} clients shared keys, threshold ${this.params.threshold}`,
      );
    }
    const inbox = new Map<ClientId, ShareInbox>(this.u2.map((c) => [c, []]));
    for (const m of this.shareMsgs.values()) {
      for (const s of m.shares) inbox.get(s.to)?.push({ from: m.client, ciphertext: s.ciphertext });
    }
    this.stageNow = 'masked';
    return inbox;
  }

  private async receiveMasked(input: MaskedInput): Promise<void> {
    const m = parse(MaskedInput, input);
    this.open('masked', 'masked input');
    check(this.u2Set.has(m.client), 'NOT_IN_GROUP', `${m.client} did not share keys`);
    check(!this.masked.has(m.client), 'DUPLICATE', `${m.client} already sent its masked input`);
    check(
      m.vector.byteLength === this.params.dim * 4,
      'VECTOR_LENGTH',
      `masked input of ${m.vector.byteLength} bytes, round wants ${this.params.dim * 4}`,
    );
    const rejected = new Set(m.rejected ?? []);
    const mine = new Set(this.graph.get(m.client)!);
    for (const r of rejected) {
      check(
        mine.has(r) && this.shareMsgs.has(r),
        'BAD_MESSAGE',
        `${m.client} rejects ${r}, which sent it no share`,
      );
    }
    check(rejected.size === (m.rejected ?? []).length, 'DUPLICATE', 'a rejection listed twice');
    const seeds = m.rejectedSeeds ?? [];
    check(
      seeds.length === rejected.size && seeds.every((p, k) => p.with === m.rejected![k]),
      'BAD_MESSAGE',
      `${m.client}'s complaint must carry the pair seed with each neighbour it rejects, in order`,
    );
    this.masked.set(m.client, m.vector);
    if (rejected.size) {
      this.rejections.set(m.client, rejected);
      this.complaintSeeds.set(m.client, new Map(seeds.map((p) => [p.with, p.seed])));
    }
  }

  /** Whether `by` rejected the shares of `of` at stage 3 (and so left their pair's mask out). */
  private rejects(by: ClientId, of: ClientId): boolean {
    return this.rejections.get(by)?.has(of) ?? false;
  }

  /**
   * Ends stage 3; returns the request every survivor gets: survivors U3, dropouts U2 \ U3, and
   * the excluded. A complaint (a rejection) is resolved without taking either side's word: the
   * accused stays in the sum while t holders of its shares accepted them (its self-mask can be
   * rebuilt; the complaint carried the one pair seed the complainer left out, which is not in its
   * own y, so its side of the pair is removed even if the complainer leaves now), and is excluded
   * otherwise. So a false complaint cannot exclude an honest sender while t honest
   * holders remain, and garbage sent to many only excludes its sender.
   */
  closeMasked(): UnmaskRequest {
    this.open('masked', 'close');
    this.u3 = [...this.masked.keys()].sort();
    const out = new Set<ClientId>();
    for (let changed = true; changed;) {
      changed = false;
      for (const i of this.u3) {
        if (out.has(i)) continue;
        const holders = [i, ...this.graph.get(i)!].filter(
          (h) => this.masked.has(h) && !out.has(h) && !this.rejects(h, i),
        );
        if (holders.length < this.params.threshold) {
          out.add(i);
          changed = true;
        }
      }
    }
    this.excluded = [...out].sort();
    const summed = this.u3.length - out.size;
    if (summed < this.params.threshold) {
      this.abort(
        'BELOW_THRESHOLD',
        `${summed} masked inputs can be summed (${out.size} excluded after rejections), threshold ${this.params.threshold}`,
      );
    }
    this.stageNow = 'confirm';
    return this.unmaskRequest();
  }

  private async receiveConfirm(input: Confirm): Promise<void> {
    const m = parse(Confirm, input);
    this.open('confirm', 'confirmation');
    const req = this.unmaskRequest();
    check(this.requestSets().s3.has(m.client), 'NOT_IN_GROUP', `${m.client} is not a survivor`);
    check(!this.confirms.has(m.client), 'DUPLICATE', `${m.client} already confirmed`);
    const key = this.keys.get(m.client)?.cert?.key;
    if (
      this.certificates &&
      !(key && m.signature && verifyRound(key, consistencyPayload(req), m.signature))
    ) {
      fail('BAD_SIGNATURE', `the confirmation of ${m.client} is not signed by its certified key`);
    }
    this.confirms.set(m.client, m.signature);
  }

  /**
   * Ends the consistency check; every survivor that confirmed gets all confirmations, and reveals
   * its shares only after checking at least t of them (client.ts unmask).
   */
  closeConfirm(): Map<ClientId, Confirmations> {
    this.open('confirm', 'close');
    if (this.confirms.size < this.params.threshold) {
      this.abort(
        'BELOW_THRESHOLD',
        `${this.confirms.size} survivors confirmed, threshold ${this.params.threshold}`,
      );
    }
    const list: Confirmations = [...this.confirms]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([client, signature]) => (signature ? { client, signature } : { client }));
    this.stageNow = 'unmask';
    return new Map([...this.confirms.keys()].map((c) => [c, list]));
  }

  unmaskRequest(): UnmaskRequest {
    if (this.request) return this.request;
    const u3 = new Set(this.u3);
    const excluded = new Set(this.excluded);
    const req = {
      round: this.params.round,
      group: this.params.group,
      survivors: this.u3.filter((c) => !excluded.has(c)),
      dropped: this.u2.filter((c) => !u3.has(c)),
      excluded: this.excluded,
    };
    // Stage 3 is closed once the request is first asked for after it: nothing changes it any more.
    if (this.stageNow !== 'advertise' && this.stageNow !== 'share' && this.stageNow !== 'masked')
      this.request = req;
    return req;
  }

  private async receiveUnmask(input: Unmask): Promise<void> {
    const m = parse(Unmask, input);
    this.open('unmask', 'unmask shares');
    check(this.confirms.has(m.client), 'NOT_IN_GROUP', `${m.client} did not confirm the survivors`);
    check(!this.unmasks.has(m.client), 'DUPLICATE', `${m.client} already sent unmask shares`);
    const { s3, dr, ex } = this.requestSets();
    const holderOf = new Set([m.client, ...this.graph.get(m.client)!]);
    const seen = new Set<ClientId>();
    for (const { of } of m.bShares) {
      check(s3.has(of) && holderOf.has(of), 'BAD_SHARE', `unexpected b share of ${of}`);
      check(!seen.has(of), 'DUPLICATE', `two shares of ${of}`);
      seen.add(of);
    }
    for (const { of } of m.sShares) {
      check(
        dr.has(of) && holderOf.has(of) && of !== m.client,
        'BAD_SHARE',
        `unexpected s share of ${of}`,
      );
      check(!seen.has(of), 'DUPLICATE', `two shares of ${of}`);
      seen.add(of);
    }
    const seeds = new Set<ClientId>();
    for (const { with: j } of m.pairSeeds ?? []) {
      const wanted = holderOf.has(j) && j !== m.client && ex.has(j) && !this.rejects(m.client, j);
      check(wanted, 'BAD_SHARE', `unexpected pair seed with ${j}`);
      check(!seeds.has(j), 'DUPLICATE', `two pair seeds with ${j}`);
      seeds.add(j);
    }
    this.unmasks.set(m.client, m);
  }

  /**
   * Ends stage 4: reconstructs b_i for survivors and s_j for dropouts (each checked against its
   * commitment or public key), then returns sum(y_i) - sum(PRG(b_i)) - dropped pair masks.
   */
  async finish(): Promise<GroupResult> {
    this.open('unmask', 'finish');
    await sodiumReady();
    const { survivors, dropped, excluded } = this.unmaskRequest();
    const t = this.params.threshold;
    // Every share handed in, indexed once by whose secret it is (not a scan per secret).
    const index = {
      bShares: new Map<ClientId, HeldShare[]>(),
      sShares: new Map<ClientId, HeldShare[]>(),
    };
    for (const [holder, u] of this.unmasks) {
      for (const kind of ['bShares', 'sShares'] as const) {
        for (const s of u[kind]) {
          let list = index[kind].get(s.of);
          if (!list) index[kind].set(s.of, (list = []));
          list.push({ holder, share: s.share });
        }
      }
    }
    const collect = (of: ClientId, kind: 'bShares' | 'sShares'): HeldShare[] =>
      index[kind].get(of) ?? [];
    const badShares: GroupResult['badShares'] = [];
    const reconstruct = async (
      of: ClientId,
      kind: 'bShares' | 'sShares',
      valid: (secret: Uint8Array) => boolean,
      what: string,
    ): Promise<Uint8Array> => {
      const shares = collect(of, kind);
      if (shares.length < t)
        this.abort('BELOW_THRESHOLD', `${shares.length} shares of ${what}, threshold ${t}`);
      const r = await robustCombine(shares, t, valid);
      if (!r) {
        this.abort(
          'RECONSTRUCTION_MISMATCH',
          `no ${t} of the ${shares.length} shares of ${what} reconstruct a secret that matches its commitment`,
        );
      }
      for (const holder of r.bad) badShares.push({ holder, secret: `${kind[0]}:${of}` });
      return r.secret;
    };
    const acc = new WordAccumulator(this.params.dim);
    for (const i of survivors) acc.addWords(this.masked.get(i)!, 1);
    for (const i of survivors) {
      const commit = this.keys.get(i)!.bCommit;
      const b = await reconstruct(
        i,
        'bShares',
        (seed) => bytesEqual(commitSeed(seed, this.params.round, this.params.group, i), commit),
        `b(${i})`,
      );
      acc.addKeystream(b, -1, this.params.prg);
    }
    const s3 = new Set(survivors);
    for (const j of dropped) {
      const pk = this.keys.get(j)!.sPk;
      const sk = await reconstruct(
        j,
        'sShares',
        (secret) => bytesEqual(publicKeyOf(secret), pk),
        `s(${j})`,
      );
      for (const i of this.graph.get(j)!) {
        // Only the survivors that accepted j's shares added their pair's mask.
        if (!s3.has(i) || this.rejects(i, j)) continue;
        const seed = pairSeed(
          sk,
          this.keys.get(i)!.sPk,
          this.params.round,
          this.params.group,
          i,
          j,
        );
        acc.addKeystream(seed, pairSign(i, j) === 1 ? -1 : 1, this.params.prg);
      }
    }
    // Pairs where exactly one side added the mask: the other side revealed the seed (at unmask
    // for an excluded neighbour, with its complaint for a rejected one).
    const revealedSeed = (by: ClientId, other: ClientId): Uint8Array => {
      const seed =
        this.complaintSeeds.get(by)?.get(other) ??
        this.unmasks.get(by)?.pairSeeds?.find((p) => p.with === other)?.seed;
      if (!seed) this.abort('BELOW_THRESHOLD', `${by} did not reveal its pair seed with ${other}`);
      return seed;
    };
    for (const e of excluded) {
      for (const i of this.graph.get(e)!) {
        if (!s3.has(i) || this.rejects(i, e)) continue;
        acc.addKeystream(revealedSeed(i, e), pairSign(i, e) === 1 ? -1 : 1, this.params.prg);
      }
    }
    for (const j of survivors) {
      for (const i of this.rejections.get(j) ?? []) {
        // j left out the pair (i, j); i, if summed and accepting j, added it: remove i's side.
        if (!s3.has(i) || this.rejects(i, j)) continue;
        acc.addKeystream(revealedSeed(j, i), pairSign(i, j) === 1 ? -1 : 1, this.params.prg);
      }
    }
    this.stageNow = 'done';
    // Masked vectors are not needed any more; drop them so they can be collected.
    this.masked.clear();
    return { sum: acc.view(), included: survivors, dropped, excluded, badShares };
  }

  private sets?: {
    s3: ReadonlySet<ClientId>;
    dr: ReadonlySet<ClientId>;
    ex: ReadonlySet<ClientId>;
  };

  /** The unmask request's survivors, dropouts and excluded as sets (built once). */
  private requestSets() {
    if (!this.sets) {
      const r = this.unmaskRequest();
      this.sets = { s3: new Set(r.survivors), dr: new Set(r.dropped), ex: new Set(r.excluded) };
    }
    return this.sets;
  }

  /** The number of PRG keystreams finish() expands (for cost accounting). */
  keystreamCount(): number {
    const { survivors, dropped } = this.unmaskRequest();
    const s3 = new Set(survivors);
    let n = survivors.length;
    for (const j of dropped) n += this.graph.get(j)!.filter((i) => s3.has(i)).length;
    return n;
  }
}
