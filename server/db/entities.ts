/**
 * Everything the aggregator knows lives in these tables, so a restarted or second instance carries
 * on where another stopped. Column types are spelled out because the server also runs under
 * esbuild (no decorator metadata).
 */
import type { BountySpec } from '../../aggregation/index.js';
import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryColumn,
  PrimaryGeneratedColumn,
} from 'typeorm';

export type RoundState =
  | 'open'
  | 'keys'
  | 'shares'
  | 'masked'
  | 'confirm'
  | 'unmask'
  | 'aggregated'
  | 'scored'
  | 'settled'
  | 'aborted';

export { AGENT_STAGES, type AgentStage } from '../rounds/stages.js';
import type { AgentStage } from '../rounds/stages.js';

export type BountyStatus = 'open' | 'finished';

export type { BountySpec };

@Entity('bounty')
export class Bounty {
  /** The bounty id on chain. */
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'varchar', length: 42 })
  sponsor!: string;

  @Column({ type: 'jsonb' })
  spec!: BountySpec;

  @Column({ type: 'varchar', length: 66, name: 'validation_hash' })
  validationHash!: string;

  /** Sponsor's validation set, canonical encoding (see models/validation.ts). */
  @Column({ type: 'bytea' })
  validation!: Buffer;

  /** Token budget in base units, as read from the chain. */
  @Column({ type: 'numeric', precision: 78, scale: 0 })
  budget!: string;

  @Column({ type: 'integer', name: 'rounds_total' })
  roundsTotal!: number;

  @Column({ type: 'varchar', length: 16 })
  status!: BountyStatus;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

@Entity('bounty_member')
export class BountyMember {
  @PrimaryColumn({ type: 'integer', name: 'bounty_id' })
  bountyId!: number;

  @PrimaryColumn({ type: 'varchar', length: 42 })
  address!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'joined_at' })
  joinedAt!: Date;
}

@Entity('round')
@Index(['bountyId', 'number'], { unique: true })
export class Round {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'integer', name: 'bounty_id' })
  bountyId!: number;

  /** 1-based attempt number within the bounty (aborted rounds use one too). */
  @Column({ type: 'integer' })
  number!: number;

  /** The round's number on chain (1..rounds), given when it aggregates; aborted rounds have none. */
  @Column({ type: 'integer', nullable: true, name: 'ledger_round' })
  ledgerRound!: number | null;

  @Column({ type: 'varchar', length: 16 })
  state!: RoundState;

  @Column({ type: 'text', nullable: true, name: 'abort_reason' })
  abortReason!: string | null;

  /** Model version the round trains from. */
  @Column({ type: 'integer', name: 'model_version' })
  modelVersion!: number;

  /** Quantisation parameters fixed for the round. */
  @Column({ type: 'jsonb' })
  quant!: Record<string, number>;

  @Column({ type: 'timestamptz', nullable: true, name: 'stage_deadline' })
  stageDeadline!: Date | null;

  /** Millisecond timestamps of each state transition (for monitoring and the benchmark). */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  timing!: Record<string, number>;

  /** The published scoring record (see rounds/settlement.service.ts, StoredScoring). */
  @Column({ type: 'jsonb', nullable: true })
  scoring!: Record<string, unknown> | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

export type GroupState = 'active' | 'aggregated' | 'dropped';

@Entity('round_group')
@Index(['roundId', 'index'], { unique: true })
export class RoundGroup {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'integer', name: 'round_id' })
  roundId!: number;

  @Column({ type: 'integer' })
  index!: number;

  /** Member addresses; a member's SecAgg id is its position + 1. */
  @Column({ type: 'text', array: true })
  members!: string[];

  @Column({ type: 'integer' })
  threshold!: number;

  /** SecAgg+ neighbours per member (k). */
  @Column({ type: 'integer' })
  neighbours!: number;

  @Column({ type: 'varchar', length: 16 })
  state!: GroupState;

  @Column({ type: 'text', nullable: true, name: 'drop_reason' })
  dropReason!: string | null;

  /** Members whose masked input was included in the sum. */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  survivors!: string[];

  /** The unmasked sum (dequantised, weighted), float32 bytes; input to scoring. */
  @Column({ type: 'bytea', nullable: true })
  sum!: Buffer | null;

  /** Total sample weight of the survivors. */
  @Column({ type: 'double precision', default: 0 })
  weight!: number;

  @Column({ type: 'varchar', length: 66, nullable: true, name: 'sum_hash' })
  sumHash!: string | null;

  /** Members whose unmask shares were wrong (outvoted), with the secret each was for. */
  @Column({ type: 'jsonb', default: () => "'[]'" })
  offenders!: { holder: string; secret: string }[];
}

@Entity('participant')
export class Participant {
  @PrimaryColumn({ type: 'integer', name: 'round_id' })
  roundId!: number;

  @PrimaryColumn({ type: 'varchar', length: 42 })
  address!: string;

  @Column({ type: 'integer', name: 'group_id' })
  groupId!: number;

  /** Last stage the participant answered, or 'selected'. */
  @Column({ type: 'varchar', length: 16 })
  progress!: string;

  @Column({ type: 'double precision', default: 0 })
  samples!: number;

  /** Shapley value share (group value scaled by sample weight). */
  @Column({ type: 'double precision', nullable: true })
  score!: number | null;

  /** Reward in token base units. */
  @Column({ type: 'numeric', precision: 78, scale: 0, nullable: true })
  reward!: string | null;
}

/** One accepted stage message (schema-checked bytes). Masked inputs are deleted after aggregation. */
@Entity('stage_message')
@Index(['groupId', 'stage', 'address'], { unique: true })
export class StageMessage {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'integer', name: 'group_id' })
  groupId!: number;

  @Column({ type: 'varchar', length: 16 })
  stage!: AgentStage;

  @Column({ type: 'varchar', length: 42 })
  address!: string;

  @Column({ type: 'bytea' })
  payload!: Buffer;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

@Entity('model_version')
@Index(['bountyId', 'version'], { unique: true })
export class ModelVersion {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'integer', name: 'bounty_id' })
  bountyId!: number;

  @Column({ type: 'integer' })
  version!: number;

  /** keccak256 over model.json bytes and weights bytes (see models/artifact.ts). */
  @Column({ type: 'varchar', length: 66 })
  hash!: string;

  @Column({ type: 'bytea', name: 'model_json' })
  modelJson!: Buffer;

  @Column({ type: 'bytea' })
  weights!: Buffer;

  /** Server-optimiser state (e.g. FedAdam moments), float32 bytes. */
  @Column({ type: 'bytea', nullable: true, name: 'optimizer_state' })
  optimizerState!: Buffer | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

@Entity('chain_receipt')
@Index(['bountyId', 'roundNumber', 'kind'], { unique: true })
export class ChainReceipt {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'integer', name: 'bounty_id' })
  bountyId!: number;

  @Column({ type: 'integer', name: 'round_number' })
  roundNumber!: number;

  @Column({ type: 'varchar', length: 32 })
  kind!: string;

  @Column({ type: 'varchar', length: 66, name: 'tx_hash' })
  txHash!: string;

  @Column({ type: 'integer', nullable: true, name: 'block_number' })
  blockNumber!: number | null;

  @Column({ type: 'varchar', length: 16 })
  status!: 'sent' | 'confirmed' | 'failed';

  @Column({ type: 'integer', nullable: true, name: 'gas_used' })
  gasUsed!: number | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

@Entity('auth_challenge')
export class AuthChallenge {
  @PrimaryColumn({ type: 'varchar', length: 66 })
  nonce!: string;

  @Column({ type: 'varchar', length: 42 })
  address!: string;

  @Column({ type: 'timestamptz', name: 'expires_at' })
  expiresAt!: Date;

  @Column({ type: 'timestamptz', nullable: true, name: 'used_at' })
  usedAt!: Date | null;
}

export const ENTITIES = [
  Bounty,
  BountyMember,
  Round,
  RoundGroup,
  Participant,
  StageMessage,
  ModelVersion,
  ChainReceipt,
  AuthChallenge,
];
