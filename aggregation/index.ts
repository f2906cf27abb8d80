/**
 * aggregation: the pure core shared by the server, the client agent and the auditor.
 * No I/O and no imports from the other folders.
 */
export * from './types.js';
export { AggregationError, type ErrorCode } from './errors.js';
export { cryptoRng, makeRng, shuffled, type Rng } from './rng.js';
export {
  clipL2,
  decodeSum,
  encodeUpdate,
  l2norm,
  makeQuantConfig,
  maxScale,
  sumWords,
  type QuantConfig,
} from './quantize.js';
export { keystreamCipher, prgWords } from './prg.js';
export { DEFAULT_PRG, PRG_NAMES, specPrg, type PrgName } from './defaults.js';
export { WordAccumulator } from './words.js';

export { SecAggClient, type SecAggClientOptions } from './secagg/client.js';
export { SecAggGroupServer, type GroupResult, type ServerStage } from './secagg/server.js';
export { runSecAggInProcess, type InProcessOptions } from './secagg/inprocess.js';
export { defaultGroupParams, neighbourGraph, type Neighbourhoods } from './secagg/graph.js';
export { planGroups } from './secagg/groups.js';
export { consistencyPayload, keysPayload, sodiumReady } from './secagg/keys.js';
export type { GroupParams } from './secagg/params.js';
export {
  CertificateCache,
  certificateMessage,
  createIdentity,
  keysSigned,
  signRound,
  verifyRound,
  type AgentCertificate,
  type AgentIdentity,
  type CertificateCheck,
  type CertificateScope,
  type WalletRecover,
} from './secagg/identity.js';
export {
  AdvertiseKeys,
  ClientMessage,
  Confirm,
  Confirmations,
  MaskedInput,
  ShareInbox,
  ShareKeys,
  Unmask,
  UnmaskRequest,
  parse as parseMessage,
} from './secagg/messages.js';

export { applyUpdate, weightedMean, type UpdateResult } from './strategy/aggregate.js';
export {
  defaultTrainConfig,
  initialServerState,
  type ServerState,
  type Strategy,
  type TrainConfig,
} from './strategy/strategy.js';
export { FedAvg, FedProx, type FedAvgOptions } from './strategy/fedavg.js';
export { FedAdam, FedYogi, type FedOptOptions } from './strategy/fedopt.js';
export { CentralDP, gaussian } from './strategy/dp.js';
export {
  coordinateMedian,
  coordinateTrimmedMean,
  RobustAggregation,
  type RobustOptions,
  type RobustRule,
} from './strategy/robust.js';
export { strategyFromSpec } from './strategy/from-spec.js';
export { RoundStart } from './round-start.js';
export {
  checkRoundAgainstSpec,
  specParamCount,
  type AnnouncedGroup,
  type AnnouncedQuant,
} from './round-params.js';
export { checkGroupSum, sumNormBound, type GroupSumCheck } from './influence.js';

export {
  allUtilities,
  exactShapley,
  sampledShapley,
  shapley,
  EXACT_MAX_PLAYERS,
  type Utility,
} from './contribution/shapley.js';
export {
  personScores,
  updateEstimates,
  type Estimate,
  type GroupValue,
} from './contribution/estimates.js';
export { allocateRewards, toFixedScore } from './contribution/rewards.js';
export {
  DEFAULT_RIDGE,
  leastSquaresEstimates,
  type GroupRound,
} from './contribution/leastsquares.js';
export {
  auditRewards,
  initialScoringState,
  scoreRound,
  type ScoringState,
  type AuditFinding,
  type PublishedGroup,
  type RoundRecord,
  type RoundScores,
} from './contribution/round.js';
export { coalitionWeights } from './contribution/coalition.js';
export {
  aggregateHash,
  changedFields,
  contributionCommitment,
  recordDigests,
  roundHash,
  roundHashOfDigests,
  scoringInput,
  RECORD_FIELDS,
  ROUND_RECORD_FORMAT,
  type LedgerRound,
  type RecordDigests,
  type RecordField,
  type RecordGroup,
  type RejectedGroup,
} from './contribution/commitment.js';
export {
  decodeFrame,
  DEFAULT_FRAME_LIMITS,
  encodeFrame,
  FrameError,
  type FrameLimits,
} from './secagg/frame.js';
export {
  canonicalJson,
  DEFAULT_ROBUST_MIN_GROUPS,
  DEFAULT_WEIGHT_CAP,
  decodeValidation,
  encodeValidation,
  modelArtifactHash,
  specHash,
  validationHash,
  type BountySpec,
  type ValidationSet,
} from './spec.js';
