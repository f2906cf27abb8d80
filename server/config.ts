import { parseRateLimits, type RateLimits } from './abuse/rate-limits.js';
import { isIP } from 'node:net';
import { base64Length } from './input.js';

/** Server configuration, read once from the environment (or given directly by tests and benchmarks). */
export interface ServerConfig {
  /** HTTP + Socket.IO port; 0 picks a free one. */
  port: number;
  host: string;
  /** postgres:// URL; undefined starts the embedded Postgres under `dataDir`. */
  databaseUrl?: string;
  /** Schema holding every table (lets tests and several deployments share one database). */
  dbSchema: string;
  /** redis:// URL; undefined starts an embedded redis-server. */
  redisUrl?: string;
  /** Prefix for BullMQ queues and Socket.IO adapter channels on the shared Redis. */
  redisPrefix: string;
  /** JSON-RPC URL of the chain; undefined starts anvil and deploys the contracts. */
  chainRpcUrl?: string;
  /** RPC URL announced to agents at GET /chain (defaults to chainRpcUrl). */
  publicRpcUrl?: string;
  /** Coordinator's private key (records rounds on chain). Required with chainRpcUrl. */
  coordinatorKey?: string;
  /** Deployed contract addresses (JSON); with chainRpcUrl and none given, the server deploys them. */
  contractAddresses?: Record<string, string>;
  /** Directory for embedded services' data and published model artefacts. */
  dataDir: string;
  /** Largest Socket.IO message, bytes. Must exceed the largest masked vector. */
  maxMessageBytes: number;
  /**
   * Most parameters a bounty's model may have. Its masked vectors (4 bytes a word, plus the weight
   * word) must fit in a socket message, so the default follows from `maxMessageBytes`.
   */
  maxModelParams: number;
  /** Largest validation set (canonical encoding), bytes. */
  maxValidationBytes: number;
  /** Stage deadlines, milliseconds. */
  /** Per-stage deadlines; `confirm` (the consistency check) defaults to `unmask`'s. */
  stageTimeoutsMs: {
    keys: number;
    shares: number;
    masked: number;
    confirm?: number;
    unmask: number;
  };
  /** Seconds a sign-in challenge stays valid. */
  challengeTtlS: number;
  /** Challenges, sign-ins, joins and stage messages per key and window (`RATE_LIMITS`), or off. */
  rateLimits: RateLimits;
  /**
   * The aggregator's origin as agents reach it (`https://agg.example.org`), signed into every
   * sign-in challenge. Unset: the origin each request was addressed to (its Host header).
   */
  publicUrl?: string;
  /**
   * Origins allowed by CORS on the REST routes and the Socket.IO namespaces (`CORS_ORIGINS`,
   * comma-separated; `*` any). The aggregator's own origin (the web app) and clients that send no
   * Origin (agents) are always let through.
   */
  corsOrigins: string[] | '*';
  /**
   * Which peers' X-Forwarded-For to believe for the client address that per-IP rate limits count
   * (`TRUST_PROXY`, Express's `trust proxy`): unset or `false` none (the TCP peer is the client),
   * a number of proxy hops, `true` any, or a comma-separated list of addresses, subnets and the
   * names `loopback`, `linklocal`, `uniquelocal`.
   */
  trustProxy: boolean | number | string[];
  /** An agent disconnected this long in a stage it owes a message for counts as dropped. */
  dropoutGraceMs: number;
  /** After enough agents are online, wait this long for more before opening a round. */
  gatherMs: number;
  /**
   * Which BullMQ lanes this process works: `rounds` (stage closes, aggregation), `settlement`
   * (scoring, chain) or both. Scoring is CPU-heavy; a separate instance for it keeps it off the
   * round's event loop. `none` serves sockets and REST only.
   */
  lanes: 'all' | 'rounds' | 'settlement' | 'none';
  /**
   * How often each worker instance compares Postgres with the queue and re-enqueues what is due
   * and missing (`SWEEP_MS`; rounds/recovery.ts).
   */
  sweepMs: number;
  /** A running job's lock; a job whose worker died runs again after about twice this (`JOB_LOCK_MS`). */
  jobLockMs: number;
  /**
   * Accept bounties whose spec says `plaintext` (no secure aggregation): set only by the round
   * benchmark in process, never from the environment.
   */
  allowPlaintext?: boolean;
}

function corsOf(v: string | undefined): ServerConfig['corsOrigins'] {
  if (!v || v.trim() === '*') return '*';
  return v.split(',').map((o) => new URL(o.trim()).origin);
}

function trustProxyOf(v: string | undefined): ServerConfig['trustProxy'] {
  const t = v?.trim() ?? '';
  if (t === '' || t === 'false') return false;
  if (t === 'true') return true;
  if (/^\d+$/.test(t)) return Number(t);
  const list = t.split(',').map((a) => a.trim());
  for (const a of list) {
    const [ip, bits, more] = a.split('/');
    const named = ['loopback', 'linklocal', 'uniquelocal'].includes(a);
    const family = isIP(ip ?? '');
    const prefix =
      bits === undefined ||
      (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)) ||
      (family === 4 && isIP(bits) === 4);
    if (!named && (!family || !prefix || more !== undefined))
      throw new Error(
        `TRUST_PROXY must be true, false, a hop count or a list of addresses, subnets, loopback, linklocal, uniquelocal; got ${a}`,
      );
  }
  return list;
}

function lanesOf(v: string | undefined): ServerConfig['lanes'] {
  const lanes = ['all', 'rounds', 'settlement', 'none'] as const;
  if (!v) return 'all';
  if (!(lanes as readonly string[]).includes(v))
    throw new Error(`WORKER_LANES must be one of ${lanes.join(', ')}`);
  return v as ServerConfig['lanes'];
}

/** Room left in a socket message for the frame header and the envelope around a masked vector. */
const FRAME_SLACK_BYTES = 64 * 1024;

/** Most parameters whose masked vector (one 32-bit word each, plus the weight word) fits a message. */
export function modelParamsFor(maxMessageBytes: number): number {
  return Math.max(0, Math.floor((maxMessageBytes - FRAME_SLACK_BYTES) / 4) - 1);
}

/**
 * Body limit of `POST /bounties`, from the model and validation caps: the initial weights (4 bytes
 * a parameter) and the validation set, both base64, plus 1 MiB for the spec and the JSON around.
 */
export function registerBodyBytes(
  config: Pick<ServerConfig, 'maxModelParams' | 'maxValidationBytes'>,
): number {
  return (
    base64Length(4 * config.maxModelParams) + base64Length(config.maxValidationBytes) + (1 << 20)
  );
}

/** Body limit of every other JSON route (`POST /auth/challenge` is the only other one). */
export const SMALL_BODY_BYTES = 16 * 1024;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const num = (name: string, dflt: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got ${v}`);
    return n;
  };
  const maxMessageBytes = num('MAX_MESSAGE_BYTES', 64 * 1024 * 1024);
  return {
    port: num('PORT', 3000),
    host: env.HOST ?? '0.0.0.0',
    databaseUrl: env.DATABASE_URL || undefined,
    dbSchema: env.DB_SCHEMA || 'tributary',
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.REDIS_PREFIX || 'tributary',
    chainRpcUrl: env.CHAIN_RPC_URL || undefined,
    publicRpcUrl: env.PUBLIC_RPC_URL || undefined,
    coordinatorKey: env.COORDINATOR_KEY || undefined,
    contractAddresses: env.CONTRACT_ADDRESSES
      ? (JSON.parse(env.CONTRACT_ADDRESSES) as Record<string, string>)
      : undefined,
    dataDir: env.DATA_DIR || '.data',
    maxMessageBytes,
    maxModelParams: num('MAX_MODEL_PARAMS', modelParamsFor(maxMessageBytes)),
    maxValidationBytes: num('MAX_VALIDATION_BYTES', 32 * 1024 * 1024),
    stageTimeoutsMs: {
      keys: num('STAGE_KEYS_MS', 10_000),
      shares: num('STAGE_SHARES_MS', 10_000),
      masked: num('STAGE_MASKED_MS', 120_000),
      confirm: num('STAGE_CONFIRM_MS', 10_000),
      unmask: num('STAGE_UNMASK_MS', 10_000),
    },
    challengeTtlS: num('CHALLENGE_TTL_S', 300),
    rateLimits: parseRateLimits(env.RATE_LIMITS),
    publicUrl: env.PUBLIC_URL ? new URL(env.PUBLIC_URL).origin : undefined,
    corsOrigins: corsOf(env.CORS_ORIGINS),
    trustProxy: trustProxyOf(env.TRUST_PROXY),
    gatherMs: num('ROUND_GATHER_MS', 1000),
    dropoutGraceMs: num('DROPOUT_GRACE_MS', 3000),
    lanes: lanesOf(env.WORKER_LANES),
    sweepMs: num('SWEEP_MS', 5000),
    jobLockMs: num('JOB_LOCK_MS', 30_000),
  };
}
