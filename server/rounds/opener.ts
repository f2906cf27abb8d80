/**
 * Opening a round: who takes part (members of the bounty online now, at least minParticipants),
 * how they are grouped (aggregation's planGroups, every choice from a CSPRNG so that join order
 * cannot steer who is grouped with whom), the round's quantisation, and the rows that hold it
 * (round, groups, participants), written in one transaction under a per-bounty advisory lock so
 * that one round opens at a time. `roundStart` is what each member is told (aggregation's
 * RoundStart schema, which the agent checks against the bounty's spec).
 */
import { IsNull, Not, type EntityManager } from 'typeorm';
import {
  cryptoRng,
  defaultGroupParams,
  DEFAULT_WEIGHT_CAP,
  makeQuantConfig,
  planGroups,
  specPrg,
  type QuantConfig,
  type RoundStart,
} from '../../aggregation/index.js';
import {
  Bounty,
  BountyMember,
  Participant,
  Round,
  RoundGroup,
  type AgentStage,
} from '../db/entities.js';
import { paramCount } from '../models/artifact.js';
import { groupKey, roundKey } from './group-session.js';
import { ACTIVE_STATES, PREV } from './stages.js';

/** Advisory-lock namespace for "one round opens at a time per bounty". */
const OPEN_LOCK = 0x7472;
/** Largest integer sample weight an update may carry when the spec names no cap. */
export const DEFAULT_MAX_WEIGHT = DEFAULT_WEIGHT_CAP;

export function quantOf(round: Round): QuantConfig {
  return makeQuantConfig({
    clip: round.quant.clip!,
    maxClients: round.quant.maxClients!,
    maxWeight: round.quant.maxWeight!,
    scale: round.quant.scale!,
  });
}

export interface OpenedRound {
  round: Round;
  groups: RoundGroup[];
  bounty: Bounty;
  /** The first stage's deadline, ms since the epoch. */
  deadline: number;
  first: AgentStage;
}

export interface OpenContext {
  /** Addresses with a live socket on the bounty, on any instance. */
  online(bountyId: number): Promise<string[]>;
  /** Version of the bounty's latest model. */
  latestVersion(bountyId: number, em: EntityManager): Promise<number | undefined>;
  stageMs(stage: AgentStage): number;
  /** A bounty run without secure aggregation (benchmarks only; see BountySpec.plaintext). */
  plaintext(spec: Bounty['spec']): boolean;
}

/**
 * Creates the bounty's next round if none is running, rounds remain and enough members are
 * online; null otherwise (a finished bounty is marked so).
 */
export async function createRound(
  em: EntityManager,
  bountyId: number,
  ctx: OpenContext,
): Promise<OpenedRound | null> {
  await em.query('SELECT pg_advisory_xact_lock($1, $2)', [OPEN_LOCK, bountyId]);
  const bounty = await em.findOneBy(Bounty, { id: bountyId });
  if (!bounty || bounty.status !== 'open') return null;
  const last = await em.findOne(Round, { where: { bountyId }, order: { number: 'DESC' } });
  if (last && ACTIVE_STATES.has(last.state)) return null;
  const done = await em.count(Round, { where: { bountyId, ledgerRound: Not(IsNull()) } });
  if (done >= bounty.roundsTotal) {
    await em.update(Bounty, { id: bountyId }, { status: 'finished' });
    return null;
  }
  const members = new Set(
    (await em.find(BountyMember, { where: { bountyId } })).map((m) => m.address),
  );
  const online = (await ctx.online(bountyId)).filter((a) => members.has(a));
  const spec = bounty.spec;
  if (online.length < Math.max(3, spec.minParticipants)) return null;
  const minGroupSize = Math.max(3, spec.minGroupSize);
  if (online.length < minGroupSize) return null;
  const groups = planGroups(online, { minGroupSize, maxGroups: spec.maxGroups, rng: cryptoRng() });
  if (groups.length === 0) return null;
  const version = await ctx.latestVersion(bountyId, em);
  if (version === undefined) throw new Error(`bounty ${bountyId} has no initial model`);
  const q = makeQuantConfig({
    clip: spec.clip,
    maxClients: Math.max(...groups.map((g) => g.length)),
    maxWeight: spec.weightCap ?? DEFAULT_MAX_WEIGHT,
  });
  const now = Date.now();
  // A plaintext round (benchmarks) opens at the masked stage: no keys, shares or unmask.
  const first: AgentStage = ctx.plaintext(spec) ? 'masked' : 'keys';
  const deadline = now + ctx.stageMs(first);
  const round = await em.save(
    em.create(Round, {
      bountyId,
      number: (last?.number ?? 0) + 1,
      state: first,
      abortReason: null,
      modelVersion: version,
      quant: { clip: q.clip, scale: q.scale, maxClients: q.maxClients, maxWeight: q.maxWeight },
      stageDeadline: new Date(deadline),
      timing: { open: now, [first]: now },
      scoring: null,
      ledgerRound: null,
    }),
  );
  const rows: RoundGroup[] = [];
  for (let i = 0; i < groups.length; i++) {
    const members = [...groups[i]!].sort();
    const p = defaultGroupParams(members.length);
    rows.push(
      await em.save(
        em.create(RoundGroup, {
          roundId: round.id,
          index: i,
          members,
          threshold: p.threshold,
          neighbours: p.neighbours,
          state: 'active',
          dropReason: null,
          survivors: [],
          sum: null,
          weight: 0,
          sumHash: null,
          offenders: [],
        }),
      ),
    );
  }
  await em.insert(
    Participant,
    rows.flatMap((g) =>
      g.members.map((address) => ({
        roundId: round.id,
        address,
        groupId: g.id,
        progress: PREV[first],
        samples: 0,
        score: null,
        reward: null,
      })),
    ),
  );
  return { round, groups: rows, bounty, deadline, first };
}

/** What member `address` of group `g` is told when the round opens (or when it resumes). */
export function roundStart(
  bounty: Bounty,
  round: Round,
  g: RoundGroup,
  address: string,
  deadline: number,
  plaintext: boolean,
): RoundStart {
  return {
    roundId: round.id,
    bountyId: bounty.id,
    round: round.number,
    modelVersion: round.modelVersion,
    modelUrl: `/models/${bounty.id}/versions/${round.modelVersion}/model.json`,
    group: {
      index: g.index,
      members: g.members,
      threshold: g.threshold,
      myId: g.members.indexOf(address) + 1,
      // SecAgg+ parameters every member must agree on.
      neighbours: g.neighbours,
      key: groupKey(g),
      round: roundKey(round),
      dim: paramCount(bounty.spec) + 1,
      prg: specPrg(bounty.spec),
    },
    quant: quantOf(round),
    train: bounty.spec.train,
    deadline,
    ...(plaintext ? { plaintext: true as const } : {}),
  };
}
