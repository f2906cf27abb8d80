/**
 * The formats a sponsor, the aggregator, model users and auditors must hash identically, kept in
 * one place so that the two sides can never drift apart:
 *
 * - the bounty spec (model topology, weight specs, round and training parameters);
 *   `specHash` = keccak256 of its canonical JSON (object keys sorted at every level);
 * - the validation set's canonical bytes: "TVS1", u32 LE header length, header JSON
 *   { n, shape, classes }, x as float32 LE (n * prod(shape) values), y as int32 LE labels;
 *   `validationHash` = keccak256 of those bytes. Only the hash goes on chain;
 * - a model version's artifact hash = keccak256(keccak256(model.json) || keccak256(weights)),
 *   so anyone holding the two files can check them against the one bytes32 the registry holds.
 */
import { keccak256 } from 'ethers';
import { canonicalJson } from './canonical.js';
import type { PrgName } from './defaults.js';
import { check } from './errors.js';

/** What the sponsor registers: the model to train and how rounds are run. */
export interface BountySpec {
  /** tfjs Layers model topology (`model.toJSON(null, false)` / model.json `modelTopology`). */
  modelTopology: unknown;
  /** tfjs weight specs in flat order (name, shape, dtype). */
  weightSpecs: { name: string; shape: number[]; dtype: 'float32' }[];
  minGroupSize: number;
  maxGroups: number;
  /** Agents a round waits for before it opens. */
  minParticipants: number;
  /** L2 clipping bound of each update before quantisation. */
  clip: number;
  strategy: { name: 'fedavg' | 'fedadam' | 'fedyogi'; params?: Record<string, number> };
  /** Hints passed to agents' trainers. */
  train: { epochs: number; batchSize: number; learningRate: number };
  /** Validation-set loss function name and metric the utilities use. */
  loss: string;
  licence: { open: boolean; priceWei?: string };
  /**
   * Largest sample weight one member's update may carry (the weight word); members declare their
   * weight with their masked input and a group sum must carry exactly the declared total.
   * Absent: DEFAULT_WEIGHT_CAP. Part of the spec hash, so agents and auditors see the same cap.
   */
  weightCap?: number;
  /**
   * Robust rule over group means (strategy/robust.ts). Absent: a trimmed mean dropping one group
   * mean from each end per coordinate once a round has DEFAULT_ROBUST_MIN_GROUPS groups.
   */
  robust?: { rule: 'median' | 'trimmed' | 'none'; trim?: number; minGroups?: number };
  /**
   * Opt-in slashing: when the last round settles, every contribution of it whose score (the final
   * least-squares estimate, in the utility's units) is below this negative number loses its stake.
   */
  slashBelow?: number;
  /**
   * The mask PRG every party of a round expands seeds with (prg.ts). New bounties name
   * DEFAULT_PRG; absent (specs written before the field): ChaCha20, so their hashes stay put.
   */
  prg?: PrgName;
  /**
   * Benchmarks only: rounds without secure aggregation (updates sent unmasked, no key, share or
   * unmask stages), to measure what SecAgg+ costs on the same stack. An aggregator refuses such a
   * bounty unless started with `allowPlaintext` (never from the environment), and an agent sends an
   * unmasked update only when told to (`AgentOptions.plaintextForBenchmarks`).
   */
  plaintext?: true;
}

export {
  DEFAULT_PRG,
  DEFAULT_ROBUST_MIN_GROUPS,
  DEFAULT_WEIGHT_CAP,
  PRG_NAMES,
  specPrg,
  type PrgName,
} from './defaults.js';

export { canonicalJson } from './canonical.js';

export function specHash(spec: BountySpec): string {
  return keccak256(Buffer.from(canonicalJson(spec), 'utf8'));
}

export interface ValidationSet {
  /** Shape of one example, e.g. [784]. */
  shape: number[];
  classes: number;
  x: Float32Array;
  y: Int32Array;
}

const MAGIC = Buffer.from('TVS1');

export function encodeValidation(v: ValidationSet): Buffer {
  const n = v.y.length;
  const per = v.shape.reduce((a, c) => a * c, 1);
  check(
    v.x.length >= n * per,
    'VECTOR_LENGTH',
    `validation x has ${v.x.length} values, needs ${n * per}`,
  );
  const x = v.x.subarray(0, n * per);
  const header = Buffer.from(JSON.stringify({ n, shape: v.shape, classes: v.classes }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  return Buffer.concat([
    MAGIC,
    len,
    header,
    Buffer.from(x.buffer, x.byteOffset, x.byteLength),
    Buffer.from(v.y.buffer, v.y.byteOffset, v.y.byteLength),
  ]);
}

/** Decodes canonical validation bytes; anything malformed is a BAD_MESSAGE error. */
export function decodeValidation(buf: Uint8Array): ValidationSet {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  check(
    b.length >= 8 && b.subarray(0, 4).equals(MAGIC),
    'BAD_MESSAGE',
    'validation set: bad magic',
  );
  const hl = b.readUInt32LE(4);
  check(8 + hl <= b.length, 'BAD_MESSAGE', 'validation set: truncated header');
  let h: { n: number; shape: number[]; classes: number };
  try {
    h = JSON.parse(b.subarray(8, 8 + hl).toString('utf8')) as typeof h;
  } catch {
    check(false, 'BAD_MESSAGE', 'validation set: header is not JSON');
  }
  check(
    Number.isInteger(h.n) &&
      h.n > 0 &&
      Array.isArray(h.shape) &&
      h.shape.every((d) => Number.isInteger(d) && d > 0) &&
      Number.isInteger(h.classes) &&
      h.classes >= 2,
    'BAD_MESSAGE',
    'validation set: bad header',
  );
  const per = h.shape.reduce((a, c) => a * c, 1);
  const xBytes = h.n * per * 4;
  check(
    b.length === 8 + hl + xBytes + h.n * 4,
    'BAD_MESSAGE',
    'validation set: length does not match header',
  );
  // A fresh, aligned copy: typed-array views need 4-byte alignment.
  const body = new Uint8Array(b.length - 8 - hl);
  body.set(b.subarray(8 + hl));
  return {
    shape: h.shape,
    classes: h.classes,
    x: new Float32Array(body.buffer, 0, h.n * per),
    y: new Int32Array(body.buffer, xBytes, h.n),
  };
}

export function validationHash(encoded: Uint8Array): string {
  return keccak256(encoded);
}

export { modelArtifactHash } from './artifact-hash.js';
