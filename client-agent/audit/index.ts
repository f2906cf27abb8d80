// The reward audit shared by `tributary audit` and the web app (browser-safe: no node: imports).
export {
  auditBounty,
  type AuditReport,
  type AuditRow,
  type Finding,
  type FindingKind,
} from './audit.js';
export { AuditError, type AuditErrorCode } from './errors.js';
export {
  RECORD_FORMAT,
  RecordGroup,
  RecordMember,
  RecordRound,
  RejectedGroup,
  ScoringRecord,
  ServerRound,
  ServerRounds,
  parseRecord,
  recordCommitment,
  recordFromListing,
  recordFromServerRounds,
  roundRecordHash,
  toLedger,
  toRoundRecord,
  type RecordDigests,
} from './record.js';
export { coalitionWeights } from '../../aggregation/contribution/coalition.js';
export {
  replayTraining,
  type ReplayFinding,
  type ReplayFindingKind,
  type ReplayGroup,
  type ReplayInput,
  type ReplayReport,
} from './replay.js';
