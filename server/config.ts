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
  /** Stage deadlines, milliseconds. */
  stageTimeoutsMs: { keys: number; shares: number; masked: number; unmask: number };
  /** Seconds a sign-in challenge stays valid. */
  challengeTtlS: number;
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
}

function lanesOf(v: string | undefined): ServerConfig['lanes'] {
  const lanes = ['all', 'rounds', 'settlement', 'none'] as const;
  if (!v) return 'all';
  if (!(lanes as readonly string[]).includes(v))
    throw new Error(`WORKER_LANES must be one of ${lanes.join(', ')}`);
  return v as ServerConfig['lanes'];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const num = (name: string, dflt: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got ${v}`);
    return n;
  };
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
    maxMessageBytes: num('MAX_MESSAGE_BYTES', 64 * 1024 * 1024),
    stageTimeoutsMs: {
      keys: num('STAGE_KEYS_MS', 10_000),
      shares: num('STAGE_SHARES_MS', 10_000),
      masked: num('STAGE_MASKED_MS', 120_000),
      unmask: num('STAGE_UNMASK_MS', 10_000),
    },
    challengeTtlS: num('CHALLENGE_TTL_S', 300),
    gatherMs: num('ROUND_GATHER_MS', 1000),
    dropoutGraceMs: num('DROPOUT_GRACE_MS', 3000),
    lanes: lanesOf(env.WORKER_LANES),
  };
}
