/**
 * A small seeded generator (mulberry32) for stochastic rounding and sampling, so that
 * simulations and audits replay exactly. Not for secrets: keys and seeds come from libsodium.
 */
// An unseeded generator takes its seed from Web Crypto, which Node and browsers share (the audit's
// scoring runs in both; node:crypto exists only in Node).
const randomSeed = (): number => globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;

export type Rng = () => number;

export function makeRng(seed?: number): Rng {
  let s = (seed ?? randomSeed()) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A generator that draws every value from Web Crypto (53 random bits each): for choices the
 * aggregator must not be able to steer or predict, such as who is grouped with whom.
 */
export function cryptoRng(): Rng {
  const buf = new Uint32Array(2);
  return () => {
    globalThis.crypto.getRandomValues(buf);
    return (buf[0]! * 2 ** 21 + (buf[1]! >>> 11)) / 2 ** 53;
  };
}

/** Fisher-Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
