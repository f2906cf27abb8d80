/**
 * The aggregator's REST routes as the web app reads them (same origin; the routes and their shapes
 * are documented at /docs). Every call throws an `ApiError` carrying the server's error code.
 */

export interface BountySummary {
  id: number;
  sponsor: string;
  status: 'open' | 'finished';
  budget: string;
  roundsTotal: number;
  validationHash: string;
  minParticipants: number;
  minGroupSize: number;
  maxGroups: number;
  strategy: { name: string; params?: Record<string, number> };
  train: { epochs: number; batchSize: number; learningRate: number };
  createdAt: string;
}

/** The published scoring record of a round (server/rounds/settlement.service.ts, StoredScoring). */
export interface Scoring {
  record: {
    budget: string;
    groups: { members: { id: string; weight: number }[] }[];
    /** Utility of every coalition of groups, by bit mask: [0] none (the base model), [2^G-1] all. */
    utilities: number[];
    /** The metric behind the utilities, e.g. `neg_loss` (in the record the chain commits to). */
    metric?: string;
  };
  groupValues: number[];
  fixedScores: Record<string, string>;
  rewards: Record<string, string>;
  /** Where records before the metric moved into `record` kept it. */
  metric?: string;
  /** The sponsor's validation set on the round's starting and published versions. */
  validation?: {
    before: { loss: number; accuracy: number };
    after: { loss: number; accuracy: number };
  };
}

export interface RoundGroupRow {
  index: number;
  members: string[];
  state: 'active' | 'aggregated' | 'dropped';
  survivors: string[];
  weight: number;
  sumHash: string | null;
  dropReason: string | null;
}

export interface Receipt {
  kind: string;
  txHash: string;
  block: number | null;
  gasUsed: number | null;
}

export interface RoundRow {
  id: number;
  number: number;
  ledgerRound: number | null;
  state: string;
  abortReason: string | null;
  modelVersion: number;
  timing: Record<string, number>;
  scoring: Scoring | null;
  groups: RoundGroupRow[] | null;
  receipts: Receipt[] | null;
}

export interface Contributor {
  address: string;
  rounds: number;
  contributed: number;
  scoreSum: number | string;
  rewards: string;
}

export interface ModelVersionRow {
  version: number;
  hash: string;
  createdAt: string;
}

export interface ChainInfo {
  chainId: number;
  rpcUrl: string;
  contracts: { token: string; bounties: string; registry: string };
  coordinator: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function get<T>(path: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { accept: 'application/json', ...init?.headers } });
  } catch {
    throw new ApiError(0, 'SERVER_UNREACHABLE', `the aggregator does not answer ${path}`);
  }
  if (!res.ok) {
    let code = 'HTTP_' + res.status;
    let message = res.statusText;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // not a JSON error body
    }
    throw new ApiError(res.status, code, message);
  }
  return (await res.json()) as T;
}

/** The part of a bounty spec the web app reads (aggregation/spec.ts BountySpec). */
export interface SpecSummary {
  modelTopology: unknown;
  weightSpecs: { name: string; shape: number[] }[];
  loss: string;
}

/** The body of POST /bounties: what only the hashes on chain commit to (base64 for the bytes). */
export interface Registration {
  id: number;
  spec: unknown;
  validation: string;
  initialWeights: string;
}

export const api = {
  bounties: () => get<BountySummary[]>('/bounties'),
  bounty: (id: number) => get<BountySummary>(`/bounties/${id}`),
  rounds: (id: number) => get<RoundRow[]>(`/bounties/${id}/rounds`),
  contributors: (id: number) => get<Contributor[]>(`/bounties/${id}/contributors`),
  models: (id: number) => get<ModelVersionRow[]>(`/models/${id}`),
  spec: (id: number) => get<SpecSummary>(`/bounties/${id}/spec`),
  chain: () => get<ChainInfo>('/chain'),
  register: (body: Registration) =>
    get<unknown>('/bounties', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
};

export const modelFileUrl = (
  bountyId: number,
  version: number,
  file: 'model.json' | 'weights.bin',
) => `/models/${bountyId}/versions/${version}/${file}`;
