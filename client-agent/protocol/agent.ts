/**
 * The data owner's protocol client: signs in with its wallet (EIP-712 challenge), joins a bounty
 * over Socket.IO, and for every round it is picked for runs the SecAgg+ client state machine of
 * `aggregation/` while it trains on its own data. It survives a reconnect within a stage: on
 * reconnect it signs in again, re-joins, and the server re-sends the open stage; answers it already
 * gave are sent again from a cache (the server acknowledges duplicates).
 */
import { getAddress, hexlify, type Wallet } from 'ethers';
import pRetry from 'p-retry';
import { io, type Socket } from 'socket.io-client';
import {
  AggregationError,
  RoundStart,
  CertificateCache,
  createIdentity,
  SecAggClient,
  type AgentIdentity,
  checkRoundAgainstSpec,
  type BountySpec,
  decodeFrame,
  encodeFrame,
  encodeUpdate,
  makeQuantConfig,
  type GroupParams,
  type QuantConfig,
  type Quantized,
} from '../../aggregation/index.js';
import { recoverMessageSigner } from '../../contracts/wallet-recover.js';
import { SIGN_IN_TYPES, type SignInChallenge } from '../../server/auth/signin.js';

export type Stage = 'keys' | 'shares' | 'masked' | 'confirm' | 'unmask';

/** What a downloader signs (EIP-191) to fetch a licensed model version. */
export function downloadMessage(bountyId: number, version: number, expiry: number): string {
  return `tributary-model-download\n${bountyId}\n${version}\n${expiry}`;
}

export { RoundStart };

export interface TrainInput {
  round: RoundStart;
  /** Global model weights the round starts from (flat float32, manifest order). */
  weights: Float32Array;
  /** The tfjs model.json of that version. */
  modelJson: unknown;
}

export interface TrainOutput {
  delta: Float32Array;
  samples: number;
}

export interface AgentEvent {
  type:
    'joined' | 'round' | 'sent' | 'round-end' | 'reward' | 'error' | 'disconnected' | 'reconnected';
  roundId?: number;
  stage?: Stage;
  detail?: unknown;
}

export interface AgentOptions {
  serverUrl: string;
  wallet: Wallet;
  bountyId: number;
  train: (input: TrainInput) => Promise<TrainOutput>;
  onEvent?: (e: AgentEvent) => void;
  /** Reconnect after a dropped connection (default true). */
  reconnect?: boolean;
  /**
   * The bounty's spec, checked against its on-chain hash by the caller: every round's group and
   * quantisation parameters are checked against it and a round that breaks it is refused
   * (SPEC_MISMATCH) before this agent sends anything.
   */
  spec?: BountySpec;
  /**
   * The chain the bounty lives on, signed into this agent's key certificate and expected in its
   * peers'. Default: the chain id of the sign-in challenge's EIP-712 domain.
   */
  chainId?: number;
  /**
   * The deployment's Bounties contract: a sign-in challenge whose EIP-712 domain names another is
   * refused (CHALLENGE_MISMATCH), as is one naming another chain than `chainId` when that is given.
   */
  verifyingContract?: string;
  /**
   * Answer rounds that ask for the update unmasked (BountySpec.plaintext), which only the round
   * benchmark runs. Off by default: an agent refuses such a round (SPEC_MISMATCH) and sends nothing.
   */
  plaintextForBenchmarks?: boolean;
}

export interface Reward {
  roundId: number;
  bountyId: number;
  round: number;
  score: number;
  reward: string;
}

interface RoundRun {
  start: RoundStart;
  client: SecAggClient;
  training: Promise<TrainOutput>;
  /** The clipped, quantized, weighted update, encoded as soon as training ends (see update). */
  encoded?: Promise<Quantized>;
  answers: Map<Stage, unknown>;
  samples?: number;
}

type Ack = { ok: true } & Record<string, unknown>;
type Nack = { error: { code: string; message: string } };

export class ProtocolError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/**
 * Failures worth another try, a moment later: the aggregator restarting or briefly overloaded
 * (no connection, a 5xx, an acknowledgement that timed out, `INTERNAL`, `RATE_LIMITED`). A
 * refusal (any other code) is final. Stage messages are idempotent: a retried one that had
 * been stored comes back `DUPLICATE`, which counts as delivered.
 */
function transient(err: unknown): boolean {
  if (err instanceof ProtocolError) return err.code === 'INTERNAL' || err.code === 'RATE_LIMITED';
  return true;
}

/** About 8 s of retries (0.25, 0.5, 1, 2, 4 s apart): longer than a restart, shorter than a stage. */
const RETRY = { retries: 5, minTimeout: 250, factor: 2, maxTimeout: 4000 } as const;

export class ProtocolAgent {
  readonly address: string;
  private socket?: Socket;
  private readonly runs = new Map<number, RoundRun>();
  readonly rewards: Reward[] = [];
  /** Wall time spent in local training, per round id (benchmarks subtract it). */
  readonly computeMs = new Map<number, number>();
  /** The chain id named by the last sign-in challenge. */
  private challengeChainId?: number;
  /**
   * This agent's Ed25519 key for the bounty, certified once by the wallet (identity.ts); it signs
   * every round's keys and consistency check, so the wallet signs once per bounty, not per round.
   */
  private identity?: AgentIdentity;
  /** Peers' certificates checked so far (one ecrecover per peer for the whole bounty). */
  private certificates?: CertificateCache;

  constructor(private readonly opts: AgentOptions) {
    this.address = getAddress(opts.wallet.address);
  }

  private emit(e: AgentEvent): void {
    this.opts.onEvent?.(e);
  }

  /** A fresh signed challenge for the Socket.IO handshake. */
  private async credentials(): Promise<{ address: string; nonce: string; signature: string }> {
    const res = await fetch(`${this.opts.serverUrl}/auth/challenge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: this.address }),
    });
    if (!res.ok) throw new ProtocolError('UNAUTHENTICATED', `challenge: HTTP ${res.status}`);
    const ch = (await res.json()) as Partial<SignInChallenge> | null;
    this.checkChallenge(ch);
    // Signed with this side's own types: the server's could leave out the origin.
    const signature = await this.opts.wallet.signTypedData(
      ch.domain,
      { SignIn: [...SIGN_IN_TYPES.SignIn] },
      ch.message,
    );
    if (typeof ch.domain.chainId === 'number') this.challengeChainId = ch.domain.chainId;
    return { address: this.address, nonce: ch.message.nonce, signature };
  }

  /**
   * Signs only a challenge for this agent, naming the origin it dialled and the chain and
   * contract it expects: a server that relays another aggregator's or deployment's challenge
   * gets no signature it could replay there.
   */
  private checkChallenge(ch: Partial<SignInChallenge> | null): asserts ch is SignInChallenge {
    const refuse = (why: string): never => {
      throw new ProtocolError('CHALLENGE_MISMATCH', `sign-in challenge refused: ${why}`);
    };
    const d = ch?.domain;
    const m = ch?.message;
    if (!d || !m || typeof m.nonce !== 'string') return refuse('malformed');
    if (d.name !== 'Tributary' || d.version !== '1') return refuse('not a Tributary sign-in');
    if (m.server !== new URL(this.opts.serverUrl).origin)
      refuse(
        `it names ${String(m.server)}, this agent dialled ${new URL(this.opts.serverUrl).origin}`,
      );
    if (typeof m.agent !== 'string' || m.agent.toLowerCase() !== this.address.toLowerCase())
      refuse(`it is for ${String(m.agent)}`);
    if (this.opts.chainId !== undefined && d.chainId !== this.opts.chainId)
      refuse(`chain ${String(d.chainId)}, expected ${this.opts.chainId}`);
    const bounties = this.opts.verifyingContract;
    if (bounties && String(d.verifyingContract).toLowerCase() !== bounties.toLowerCase())
      refuse(`contract ${String(d.verifyingContract)}, expected ${bounties}`);
  }

  /** Connects, signs in and joins the bounty; resolves once joined. */
  async start(): Promise<void> {
    let refused: ProtocolError | undefined;
    const socket = io(`${this.opts.serverUrl}/agents`, {
      transports: ['websocket'],
      reconnection: this.opts.reconnect ?? true,
      reconnectionDelay: 200,
      reconnectionDelayMax: 2000,
      auth: (cb) => {
        this.credentials().then(cb, (err: unknown) => {
          refused = err instanceof ProtocolError ? err : undefined;
          this.emit({ type: 'error', detail: String(err) });
          cb({});
        });
      },
    });
    this.socket = socket;
    socket.on('round', (input: unknown) => {
      // Parsed at the edge: a malformed announcement is refused, nothing of it is used.
      const r = RoundStart.safeParse(input);
      if (!r.success) {
        const roundId = (input as { roundId?: unknown } | null)?.roundId;
        this.fail(
          typeof roundId === 'number' ? roundId : 0,
          new ProtocolError(
            'BAD_MESSAGE',
            `round: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`,
          ),
        );
        return;
      }
      void this.onRound(r.data).catch((e) => this.fail(r.data.roundId, e));
    });
    socket.on(
      'stage',
      (s: { roundId: number; stage: Stage; payload: unknown }) =>
        void this.onStage(s).catch((e) => this.fail(s.roundId, e)),
    );
    socket.on('round-end', (e: { roundId: number; state: string }) => {
      this.emit({ type: 'round-end', roundId: e.roundId, detail: e });
      this.runs.delete(e.roundId);
    });
    socket.on('disconnect', (reason) => this.emit({ type: 'disconnected', detail: reason }));
    socket.on('reward', (r: Reward) => {
      this.rewards.push(r);
      this.emit({ type: 'reward', roundId: r.roundId, detail: r });
    });
    let first = true;
    await new Promise<void>((resolve, reject) => {
      socket.on('connect', () => {
        this.join()
          .then(() => {
            if (!first) this.emit({ type: 'reconnected' });
            first = false;
            resolve();
          })
          .catch(reject);
      });
      socket.on('connect_error', (err) => {
        if (!socket.active) reject(refused ?? err);
      });
    });
  }

  /** The certified key (made on first join) and the cache of peers' certificates. */
  private async ensureIdentity(): Promise<AgentIdentity> {
    if (!this.identity) {
      const chainId = this.opts.chainId ?? this.challengeChainId;
      if (chainId === undefined) throw new ProtocolError('UNAUTHENTICATED', 'unknown chain id');
      const scope = { chainId, bountyId: this.opts.bountyId };
      const wallet = this.opts.wallet;
      this.identity = await createIdentity(scope, this.address, (m) => wallet.signMessage(m));
      this.certificates = new CertificateCache(scope, recoverMessageSigner);
    }
    return this.identity;
  }

  /** ecrecovers this agent has done on peers' certificates (benchmarks report them). */
  get certificateChecks(): number {
    return this.certificates?.recovers ?? 0;
  }

  private async join(): Promise<void> {
    const { certificate } = await this.ensureIdentity();
    const ack = await this.request('join', {
      bountyId: this.opts.bountyId,
      certificate: { key: hexlify(certificate.key), signature: certificate.signature },
    });
    this.emit({ type: 'joined', detail: ack });
    // Answers given before a reconnect may have been lost: send them again (duplicates are fine).
    for (const [roundId, run] of this.runs) {
      for (const [stage, message] of run.answers)
        void this.send(roundId, stage, message, run.samples);
    }
  }

  private async request(event: string, body: unknown): Promise<Ack> {
    const socket = this.socket;
    if (!socket) throw new ProtocolError('UNAUTHENTICATED', 'not started');
    const res = (await socket.timeout(60_000).emitWithAck(event, body)) as Ack | Nack;
    if ('error' in res) {
      const e = (res as Nack).error;
      throw new ProtocolError(e.code, e.message);
    }
    return res;
  }

  /** The round's model version; retried while the aggregator is unreachable or answers 5xx. */
  private fetchModel(url: string): Promise<{ weights: Float32Array; modelJson: unknown }> {
    return pRetry(() => this.fetchModelOnce(url), {
      ...RETRY,
      shouldRetry: ({ error }) => transient(error),
    });
  }

  private async fetchModelOnce(
    url: string,
  ): Promise<{ weights: Float32Array; modelJson: unknown }> {
    const base = `${this.opts.serverUrl}${url}`;
    const headers = await this.downloadHeaders(url);
    const [j, w] = await Promise.all([
      fetch(base, { headers }),
      fetch(base.replace(/model\.json$/, 'weights.bin'), { headers }),
    ]).catch((err: unknown) => {
      // A refused connection (the aggregator restarting) is retried. fetch's TypeError comes from
      // Node's own realm, which is not this module's when the agent runs inside a VM context (a
      // test runner's), and p-retry refuses to retry anything that is not an Error of its realm.
      throw err instanceof Error
        ? err
        : new Error(`model download: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    });
    if (j.status >= 500 || w.status >= 500)
      throw new Error(`model download: the aggregator answered ${j.status}/${w.status}`);
    if (!j.ok || !w.ok)
      throw new ProtocolError('NOT_FOUND', `model download failed: ${j.status}/${w.status}`);
    const buf = new Uint8Array(await w.arrayBuffer());
    return {
      modelJson: await j.json(),
      weights: new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4),
    };
  }

  /**
   * Signed download request, needed for licensed models: participants may fetch them while the
   * bounty trains; after settlement only licence holders (a rewarded contributor claims one).
   */
  async downloadHeaders(modelUrl: string): Promise<Record<string, string>> {
    const m = /\/models\/(\d+)\/versions\/(\d+)\//.exec(modelUrl);
    if (!m) return {};
    const expiry = Math.floor(Date.now() / 1000) + 30; // the server takes at most 60 s
    const signature = await this.opts.wallet.signMessage(
      downloadMessage(Number(m[1]), Number(m[2]), expiry),
    );
    return {
      'x-tributary-address': this.address,
      'x-tributary-expiry': String(expiry),
      'x-tributary-signature': signature,
    };
  }

  private async onRound(r: RoundStart): Promise<void> {
    if (this.runs.has(r.roundId)) return; // resumed: already running
    if (this.opts.spec) checkRoundAgainstSpec(this.opts.spec, this.address, r.group, r.quant);
    if (r.plaintext && !this.opts.plaintextForBenchmarks) {
      throw new ProtocolError('SPEC_MISMATCH', 'the aggregator asks for an unmasked update');
    }
    const params: GroupParams = {
      round: r.group.round,
      group: r.group.key,
      dim: r.group.dim,
      neighbours: r.group.neighbours,
      threshold: r.group.threshold,
      prg: r.group.prg,
    };
    // Made at join, which comes before any round.
    if (!this.identity || !this.certificates) {
      throw new ProtocolError('UNAUTHENTICATED', 'a round arrived before joining');
    }
    const client = new SecAggClient(this.address, params, {
      identity: this.identity,
      certificates: this.certificates.checker,
    });
    const train = async () => {
      const model = await this.fetchModel(r.modelUrl);
      const t0 = performance.now();
      const out = await this.opts.train({
        round: r,
        weights: model.weights,
        modelJson: model.modelJson,
      });
      this.computeMs.set(r.roundId, performance.now() - t0);
      return out;
    };
    // Training starts when `begin` is called: first thing in a plaintext round, after the keys
    // went out in a secure one.
    let begin!: () => void;
    const training = new Promise<void>((go) => (begin = go)).then(train);
    training.catch(() => undefined);
    const run: RoundRun = { start: r, client, training, answers: new Map() };
    this.runs.set(r.roundId, run);
    this.emit({
      type: 'round',
      roundId: r.roundId,
      detail: { round: r.round, group: r.group.index },
    });
    if (r.plaintext) {
      begin();
      // No keys, shares or unmask: the quantized update itself is the masked stage's message.
      const words = await this.update(run);
      const vector = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
      const header = { round: params.round, group: params.group, client: this.address };
      return this.answer(run, 'masked', { type: 'masked', ...header, vector });
    }
    // The keys go out before the model download starts (its signed request costs a wallet
    // signature): the whole group waits for every member's keys, and training is not needed
    // before stage 3.
    const keys = this.answer(run, 'keys', await client.advertise());
    setImmediate(begin);
    // Encoded while the group still exchanges keys and shares: stage 3 then only adds the masks.
    this.update(run).catch(() => undefined);
    await keys;
  }

  /**
   * The trained update, clipped, quantized and weighted; sets the declared sample count. Encoded
   * once per round, when training ends, whoever asks first.
   */
  private update(run: RoundRun): Promise<Quantized> {
    run.encoded ??= run.training.then(({ delta, samples }) => {
      const q = run.start.quant;
      const cfg = makeQuantConfig({
        clip: q.clip,
        maxClients: q.maxClients,
        maxWeight: q.maxWeight,
        scale: q.scale,
      });
      const weight = Math.max(1, Math.min(q.maxWeight, Math.round(samples)));
      run.samples = this.declaredSamples(weight, run.start);
      return this.encode(delta, weight, cfg, run.start);
    });
    return run.encoded;
  }

  private async onStage(s: { roundId: number; stage: Stage; payload: unknown }): Promise<void> {
    const run = this.runs.get(s.roundId);
    if (!run) return;
    if (run.answers.has(s.stage)) {
      await this.send(s.roundId, s.stage, run.answers.get(s.stage), run.samples);
      return;
    }
    const c = run.client;
    const payload = decodeFrame(s.payload as Uint8Array);
    switch (s.stage) {
      case 'shares':
        return this.answer(run, 'shares', await c.shareKeys(payload));
      case 'masked':
        return this.answer(run, 'masked', await c.maskInput(payload, await this.update(run)));
      case 'confirm':
        return this.answer(run, 'confirm', await c.confirm(payload));
      case 'unmask':
        return this.answer(run, 'unmask', await c.unmask(payload));
      case 'keys':
        return;
    }
  }

  /**
   * The words this agent masks: its clipped, quantized, weighted update. One seam with
   * `declaredSamples` and `outgoing`, so that tests can play a hostile agent that breaks the
   * protocol through the real client (test/adversary/); honest agents never override them. Each
   * is told the round it works for (the update is encoded when training ends, which may come
   * before or after the round's stage 2).
   */
  protected encode(
    delta: Float32Array,
    weight: number,
    cfg: QuantConfig,
    _round: RoundStart,
  ): Quantized {
    return encodeUpdate(delta, weight, cfg);
  }

  /** The sample count declared with the masked input (the weight in the encoded words). */
  protected declaredSamples(weight: number, _round: RoundStart): number {
    return weight;
  }

  /** A stage's message as it goes on the wire. */
  protected outgoing(_stage: Stage, message: unknown, _round: RoundStart): unknown {
    return message;
  }

  private async answer(run: RoundRun, stage: Stage, message: unknown): Promise<void> {
    message = this.outgoing(stage, message, run.start);
    run.answers.set(stage, message);
    await this.send(run.start.roundId, stage, message, run.samples);
  }

  private async send(
    roundId: number,
    stage: Stage,
    message: unknown,
    samples?: number,
  ): Promise<void> {
    const body = {
      roundId,
      stage,
      message: encodeFrame(message),
      samples: stage === 'masked' ? samples : undefined,
    };
    try {
      // Retried while connected; after a reconnect every unanswered stage is sent again anyway.
      await pRetry(() => this.request('stage', body), {
        ...RETRY,
        shouldRetry: ({ error }) => transient(error) && this.socket?.connected === true,
      });
      this.emit({ type: 'sent', roundId, stage });
    } catch (err) {
      if (err instanceof ProtocolError && err.code === 'DUPLICATE') return;
      this.fail(roundId, err);
    }
  }

  private fail(roundId: number, err: unknown): void {
    const code =
      err instanceof ProtocolError || err instanceof AggregationError ? err.code : 'ERROR';
    this.emit({
      type: 'error',
      roundId,
      detail: { code, message: String((err as Error)?.message ?? err) },
    });
  }

  /** Rounds taken part in and tokens earned, as the server reports them. */
  async status(): Promise<{ rounds: unknown[]; earned: string }> {
    return (await this.request('status', {})) as unknown as { rounds: unknown[]; earned: string };
  }

  stop(): void {
    this.socket?.disconnect();
    this.socket = undefined;
  }

  /** Drops the connection without stopping (tests use it to exercise resume). */
  dropConnection(): void {
    this.socket?.io.engine?.close();
  }
}
