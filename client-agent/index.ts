// Public surface of client-agent/.

// Data: loaders, built-in data sets, partitioners.
export { DataError, type DataErrorCode } from './data/errors.js';
export {
  classCounts,
  featureSize,
  makeDataset,
  size,
  slice,
  subset,
  type Dataset,
} from './data/dataset.js';
export { encodeIdx, idxToDataset, loadIdx, parseIdx, type IdxArray } from './data/idx.js';
export { loadCsv, parseCsv, type CsvOptions } from './data/csv.js';
export {
  BUILTIN_NAMES,
  FASHION_MNIST_CLASSES,
  fashionMnistAvailable,
  loadBuiltin,
  loadFashionMnist,
  loadMnistDigits,
  type BuiltinName,
  type TrainTest,
} from './data/builtin.js';
export {
  dirichletPartition,
  iidPartition,
  partition,
  shardPartition,
  type PartitionKind,
} from './data/partition.js';
export { mulberry32, type Rng } from './data/random.js';

// Training: backend, model spec, trainer.
export { initBackend, ensureRegistered, type BackendName } from './training/backend.js';
export {
  registerWasmConv2DBackpropFilter,
  registerWasmConv2DBackpropInput,
} from './training/conv2d-backprop-filter.js';
export {
  DEFAULT_HYPER,
  HyperParamsSchema,
  ModelSpecSchema,
  type HyperParams,
  type ModelSpec,
} from './training/model-spec.js';
export {
  buildModel,
  getFlatWeights,
  initialWeights,
  linearArchitecture,
  paramCount,
  setFlatWeights,
  smallCnnArchitecture,
  type Architecture,
} from './training/model.js';
export { Trainer, type Evaluation, type LocalResult } from './training/trainer.js';

// Simulation (in process, no network).
export {
  runFederated,
  UTILITY_METRICS,
  type FederatedOptions,
  type FederatedResult,
  type RoundRecord,
  type SimClient,
  type UtilityMetric,
} from './simulation/federated.js';
export { runCentral, type CentralOptions } from './simulation/central.js';
export { corrupt, type Corruption } from './simulation/corrupt.js';
export {
  ESTIMATORS,
  replayEstimates,
  roundScores,
  type EstimatorName,
} from './simulation/estimators.js';
export {
  cnnModel,
  concat,
  prepareData,
  type DataSetup,
  type PreparedData,
} from './simulation/setup.js';
export { makeStrategy, type StrategyName } from './simulation/strategies.js';
export { spearman, pearson, ranks } from './simulation/stats.js';
export { lineChartSvg, type Series, type ChartOptions } from './simulation/svg-chart.js';

// The reward audit (browser-safe; the web app imports client-agent/audit/index.ts by path).
export {
  AuditError,
  auditBounty,
  parseRecord,
  recordFromListing,
  recordFromServerRounds,
  ScoringRecord,
  type AuditReport,
  type AuditRow,
  type Finding,
  type FindingKind,
} from './audit/index.js';
