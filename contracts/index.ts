// Public surface of contracts/: dev chain, deploy/attach helpers, typed wrappers, Merkle helpers, errors.
export {
  startDevChain,
  makeProvider,
  anvilBinary,
  type DevChain,
  type DevChainOptions,
} from './devchain.js';
export {
  deployTributary,
  attachTributary,
  recordRoundArgs,
  leavesFor,
  RewardToken,
  Bounties,
  ModelRegistry,
  LicenceKind,
  type TributaryContracts,
  type TributaryAddresses,
  type DeployOptions,
  type BountyParams,
  type BountyState,
  type RecordedContribution,
  type RecordedRound,
  type ContributionLeaf,
  type LicenceTerms,
  type ModelVersion,
  type LogQuery,
} from './tributary.js';
export {
  readRecordedRounds,
  recordedRoundsFromLogs,
  type EventLog,
  type LogFilter,
  type LogSource,
} from './events.js';
export {
  leafHash,
  roundRoot,
  roundProofs,
  treeLevels,
  verifyProof,
  packContribution,
  artifactHash,
  MAX_REWARD,
  type RoundContribution,
} from './merkle.js';
export {
  ChainError,
  toChainError,
  contractErrors,
  CONTRACT_ERROR_CODES,
  type ContractErrorCode,
  type ChainErrorCode,
} from './errors.js';
export { BountiesArtifact, ModelRegistryArtifact, RewardTokenArtifact } from './artifacts/index.js';
