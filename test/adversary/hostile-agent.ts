/**
 * Hostile data owners for the threat-model tests: each speaks the real protocol through the real
 * client (ProtocolAgent, SecAggClient) and breaks it in one way, the way a participant who
 * controls its own machine could. Used by server/rounds/hostile.test.ts and the robustness
 * benchmark.
 */
import { randomBytes } from 'node:crypto';
import type {
  QuantConfig,
  Quantized,
  RoundStart,
  ShareKeys,
  Unmask,
} from '../../aggregation/index.js';
import { ProtocolAgent, type AgentOptions } from '../../client-agent/protocol/index.js';

export type Attack =
  /** Every parameter word 0x7fffffff and weight word 1: the largest push a word can make. */
  | 'extreme-words'
  /** Encodes the largest weight the round allows but declares 1 sample. */
  | 'undeclared-weight'
  /** Sends garbage (right x coordinate, random value) for every unmask share it holds. */
  | 'garbage-unmask-shares'
  /** Sends random bytes instead of every boxed share ciphertext at stage 2. */
  | 'garbage-share-ciphertexts'
  | 'honest';

export class HostileAgent extends ProtocolAgent {
  /** The rounds this agent took part in, in order (the n-th is `plan(n)`'s). */
  private readonly seen: number[] = [];

  /** `plan(n)` is the attack of the n-th round this agent takes part in (1-based). */
  constructor(
    opts: AgentOptions,
    private readonly plan: (n: number) => Attack,
  ) {
    super(opts);
  }

  private attackOf(round: RoundStart): Attack {
    let n = this.seen.indexOf(round.roundId);
    if (n < 0) n = this.seen.push(round.roundId) - 1;
    return this.plan(n + 1);
  }

  protected override encode(
    delta: Float32Array,
    weight: number,
    cfg: QuantConfig,
    round: RoundStart,
  ): Quantized {
    const attack = this.attackOf(round);
    if (attack === 'extreme-words') {
      const out = new Uint32Array(delta.length + 1).fill(0x7fffffff);
      out[delta.length] = 1;
      return out;
    }
    if (attack === 'undeclared-weight') return super.encode(delta, cfg.maxWeight, cfg, round);
    return super.encode(delta, weight, cfg, round);
  }

  protected override declaredSamples(weight: number, round: RoundStart): number {
    const attack = this.attackOf(round);
    return attack === 'extreme-words' || attack === 'undeclared-weight' ? 1 : weight;
  }

  protected override outgoing(stage: string, message: unknown, round: RoundStart): unknown {
    const attack = this.attackOf(round);
    if (stage === 'shares' && attack === 'garbage-share-ciphertexts') {
      const m = message as ShareKeys;
      return {
        ...m,
        shares: m.shares.map((s) => ({
          ...s,
          ciphertext: new Uint8Array(randomBytes(s.ciphertext.length)),
        })),
      };
    }
    if (stage !== 'unmask' || attack !== 'garbage-unmask-shares') return message;
    const m = message as Unmask;
    const garble = (share: Uint8Array) => {
      const g = new Uint8Array(randomBytes(share.length));
      g[share.length - 1] = share[share.length - 1]!;
      return g;
    };
    return {
      ...m,
      bShares: m.bShares.map((s) => ({ ...s, share: garble(s.share) })),
      sShares: m.sShares.map((s) => ({ ...s, share: garble(s.share) })),
    };
  }
}
