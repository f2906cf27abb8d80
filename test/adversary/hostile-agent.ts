/**
 * Hostile data owners for the threat-model tests: each speaks the real protocol through the real
 * client (ProtocolAgent, SecAggClient) and breaks it in one way, the way a participant who
 * controls its own machine could. Used by server/rounds/hostile.test.ts and the robustness
 * benchmark.
 */
import { randomBytes } from 'node:crypto';
import type { QuantConfig, Quantized, ShareKeys, Unmask } from '../../aggregation/index.js';
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
  private rounds = 0;
  private attack: Attack = 'honest';

  /** `plan(n)` is the attack of the n-th round this agent sends a masked input in (1-based). */
  constructor(
    opts: AgentOptions,
    private readonly plan: (n: number) => Attack,
  ) {
    super(opts);
  }

  protected override encode(delta: Float32Array, weight: number, cfg: QuantConfig): Quantized {
    if (this.attack === 'extreme-words') {
      const out = new Uint32Array(delta.length + 1).fill(0x7fffffff);
      out[delta.length] = 1;
      return out;
    }
    if (this.attack === 'undeclared-weight') return super.encode(delta, cfg.maxWeight, cfg);
    return super.encode(delta, weight, cfg);
  }

  protected override declaredSamples(weight: number): number {
    // Called once per round, first thing at the masked stage: the round's attack starts here.
    this.attack = this.plan(++this.rounds);
    return this.attack === 'extreme-words' || this.attack === 'undeclared-weight' ? 1 : weight;
  }

  protected override outgoing(stage: string, message: unknown): unknown {
    // Stage 2 comes before the round's first masked input: its attack is the next round's.
    if (stage === 'shares' && this.plan(this.rounds + 1) === 'garbage-share-ciphertexts') {
      const m = message as ShareKeys;
      return {
        ...m,
        shares: m.shares.map((s) => ({
          ...s,
          ciphertext: new Uint8Array(randomBytes(s.ciphertext.length)),
        })),
      };
    }
    if (stage !== 'unmask' || this.attack !== 'garbage-unmask-shares') return message;
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
