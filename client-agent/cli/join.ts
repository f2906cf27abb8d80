/**
 * `tributary join <bounty>`: the data owner's journey. Joins the bounty on chain (staking what it
 * asks), signs in to the aggregator with the wallet, and for every round it is picked for trains
 * locally on the owner's data and takes part in secure aggregation through `ProtocolAgent`; the
 * data never leaves this process, only a masked update does. Ends when the bounty's rounds are
 * recorded on chain, after `--rounds` rounds, at `--timeout`, or on Ctrl-C; then shows the
 * rewards and what can be claimed.
 */
import { Command } from 'commander';
import { formatUnits, type Wallet } from 'ethers';
import { specHash, type BountySpec } from '../../aggregation/index.js';
import { RewardToken } from '../../contracts/index.js';
import { featureSize, size, type Dataset } from '../data/dataset.js';
import { Trainer } from '../index.js';
import {
  ProtocolAgent,
  type AgentEvent,
  type Reward,
  type TrainInput,
  type TrainOutput,
} from '../protocol/index.js';
import { tokenDecimals } from './bounty.js';
import { downloadHeaders } from './model.js';
import {
  getJson,
  request,
  parseBountyId,
  parseCount,
  parseTokens,
  requireBounty,
  requireServer,
  showTokens,
  withContext,
  type Context,
  type GlobalOptions,
} from './context.js';
import { loadData } from './data.js';
import { CliError, fail } from './errors.js';
import { fields, progress, table, toJson, type Io } from './io.js';
import { ensureBackend } from './spec.js';
import { requireWallet } from './wallet.js';

export interface JoinOptions {
  data: string;
  label?: string;
  limit?: string;
  shard?: string;
  stake?: string;
  rounds?: string;
  timeout?: string;
  seed?: string;
}

/** The local trainer: one tfjs model per topology, trained from the round's global weights. */
export function localTrainer(
  data: Dataset,
  seed: number,
): { train: (input: TrainInput) => Promise<TrainOutput>; dispose(): void } {
  let trainer: Trainer | undefined;
  let topology = '';
  let calls = 0;
  return {
    async train({ round, weights, modelJson }) {
      const topo = (modelJson as { modelTopology?: Record<string, unknown> }).modelTopology;
      if (!topo) throw new CliError('BAD_MODEL_SPEC', 'the round model has no modelTopology');
      const key = JSON.stringify(topo);
      if (!trainer || key !== topology) {
        trainer?.dispose();
        await ensureBackend();
        // A fresh copy: tfjs deletes `layers` from the config object it deserialises.
        trainer = await Trainer.create(JSON.parse(key) as Record<string, unknown>);
        topology = key;
      }
      const r = await trainer.train(
        weights,
        data,
        {
          localEpochs: round.train.epochs,
          batchSize: round.train.batchSize,
          learningRate: round.train.learningRate,
          fedProxMu: 0,
        },
        seed + 7919 * calls++,
      );
      return { delta: r.delta, samples: r.numSamples };
    },
    dispose: () => trainer?.dispose(),
  };
}

/** Stakes and joins on chain unless already a participant; returns the stake. */
export async function joinOnChain(
  ctx: Context,
  id: bigint,
  wallet: Wallet,
  stakeText?: string,
): Promise<{ joined: boolean; stake: bigint }> {
  const b = await requireBounty(ctx, id);
  const bounties = ctx.contracts.bounties.connect(wallet);
  if (await bounties.isParticipant(id, wallet.address))
    return { joined: false, stake: (await bounties.stakeOf(id, wallet.address)).amount };
  const decimals = await tokenDecimals(ctx.provider, b.token);
  const stake = stakeText === undefined ? b.minStake : parseTokens(stakeText, '--stake', decimals);
  if (stake < b.minStake)
    fail(
      'BAD_ARGUMENT',
      `bounty ${id} asks a stake of at least ${showTokens(b.minStake, decimals)}`,
    );
  if (stake > 0n) {
    const token = new RewardToken(b.token, wallet);
    const have = await token.balanceOf(wallet.address);
    if (have < stake)
      fail(
        'INSUFFICIENT_FUNDS',
        `${wallet.address} holds ${showTokens(have, decimals)} tokens, the stake is ${showTokens(stake, decimals)}`,
      );
    if ((await token.allowance(wallet.address, bounties.address)) < stake)
      await token.approve(bounties.address, stake);
  }
  await bounties.join(id, stake);
  return { joined: true, stake };
}

/** Fails early when the data does not fit the bounty's model (input size of its first layer). */
async function checkShape(
  server: string,
  id: bigint,
  wallet: Wallet,
  features: number,
  source: string,
): Promise<void> {
  const versions = await getJson<{ version: number }[]>(server, `/models/${id}`).catch(() => []);
  const latest = versions[versions.length - 1]?.version;
  if (latest === undefined) return;
  const path = `/models/${id}/versions/${latest}/model.json`;
  let mj: {
    modelTopology?: {
      config?: { layers?: { config?: { batch_input_shape?: (number | null)[] } }[] };
    };
  };
  try {
    const res = await request(server, path, {
      headers: await downloadHeaders(wallet, id, BigInt(latest)),
    });
    mj = (await res.json()) as typeof mj;
  } catch {
    return; // the round itself reports what is wrong
  }
  const shape = mj.modelTopology?.config?.layers?.[0]?.config?.batch_input_shape;
  if (!shape) return;
  const want = shape.slice(1).reduce<number>((a, d) => a * (d ?? 1), 1);
  if (want !== features) {
    fail(
      'DATA_SHAPE',
      `${source} has ${features} features per sample, bounty ${id}'s model takes ${want} ([${shape.slice(1)}])`,
    );
  }
}

/** A fixed-point score (integer, 9 decimals, as on chain) as a decimal. */
function showScore(score: number | string | undefined): string | undefined {
  if (score === undefined) return undefined;
  const t = String(score);
  return /^-?\d+$/.test(t) ? formatUnits(BigInt(t), 9) : t;
}

interface RoundRow {
  round: number;
  roundId: number;
  group?: number;
  state: string;
  /** As the aggregator reports it: the fixed-point score on chain (9 decimals). */
  score?: number | string;
  reward?: string;
}

async function join(ctx: Context, idText: string, o: JoinOptions): Promise<void> {
  const id = parseBountyId(idText);
  const server = requireServer(ctx.server, 'joining a round needs the aggregator');
  const wallet = await requireWallet(
    ctx.opts,
    ctx.io,
    ctx.provider,
    'joining signs in and stakes with the wallet',
  );
  const b = await requireBounty(ctx, id);
  const now = BigInt((await ctx.provider.getBlock('latest'))?.timestamp ?? 0);
  if (b.roundsRecorded >= b.rounds || now > b.deadline) {
    fail(
      'BOUNTY_CLOSED',
      `bounty ${id} takes no more contributions (${b.roundsRecorded}/${b.rounds} rounds recorded, deadline ${new Date(Number(b.deadline) * 1000).toISOString()})`,
    );
  }
  const data = await loadData(o.data, 'train', {
    label: o.label,
    limit: o.limit === undefined ? undefined : parseCount(o.limit, '--limit'),
    shard: o.shard,
  });
  // The server must know the bounty; its model tells the expected input size.
  const registered = await getJson<{ id: number; roundsTotal: number }>(
    server,
    `/bounties/${id}`,
  ).catch((e: unknown) => {
    if (e instanceof CliError && e.code === 'NOT_FOUND')
      fail('UNKNOWN_BOUNTY', `the server at ${server} does not run bounty ${id}`);
    throw e;
  });
  // The spec fixes the privacy parameters every round is checked against; it must be the one
  // whose hash is on chain.
  const spec = await getJson<BountySpec>(server, `/bounties/${id}/spec`);
  if (specHash(spec) !== b.modelSpecHash) {
    fail(
      'BOUNTY_MISMATCH',
      `the server's spec of bounty ${id} does not hash to the chain's modelSpecHash ${b.modelSpecHash}`,
    );
  }
  const chain = await joinOnChain(ctx, id, wallet, o.stake);
  await checkShape(server, id, wallet, featureSize(data), o.data);
  const maxRounds = o.rounds === undefined ? undefined : parseCount(o.rounds, '--rounds');
  const timeoutMs = o.timeout === undefined ? undefined : parseCount(o.timeout, '--timeout') * 1000;
  const trainer = localTrainer(data, o.seed === undefined ? 1 : parseCount(o.seed, '--seed', 0));
  const rows = new Map<number, RoundRow>();
  const bar = progress(ctx.io, ctx.json);
  const total = maxRounds ?? registered.roundsTotal ?? b.rounds;
  bar.start(total, 'waiting for a round');
  let done = 0;
  let finish!: (why: string) => void;
  const finished = new Promise<string>((resolve) => (finish = resolve));
  const warnings: string[] = [];
  const warn = (text: string) => {
    warnings.push(text);
    if (!ctx.json) ctx.io.stderr(`${text}\n`);
  };
  const onEvent = (e: AgentEvent) => {
    const row = e.roundId === undefined ? undefined : rows.get(e.roundId);
    switch (e.type) {
      case 'round': {
        const d = e.detail as { round: number; group: number };
        rows.set(e.roundId!, {
          round: d.round,
          roundId: e.roundId!,
          group: d.group,
          state: 'training',
        });
        bar.update(done, `round ${d.round}: training`);
        break;
      }
      case 'sent':
        if (row) {
          row.state = `sent ${e.stage}`;
          bar.update(done, `round ${row.round}: ${e.stage} sent`);
        }
        break;
      case 'round-end': {
        const state = (e.detail as { state: string }).state;
        if (row) row.state = state;
        done++;
        bar.update(done, `round ${row?.round ?? '?'}: ${state}`);
        if (maxRounds !== undefined && done >= maxRounds) finish('rounds');
        break;
      }
      case 'reward': {
        const r = e.detail as Reward;
        const target = rows.get(r.roundId);
        if (target) Object.assign(target, { score: r.score, reward: r.reward, state: 'settled' });
        break;
      }
      case 'error': {
        const d = e.detail as { code?: string; message?: string } | string;
        warn(
          `warning${e.roundId ? ` (round id ${e.roundId})` : ''}: ${typeof d === 'string' ? d : `[${d.code}] ${d.message}`}`,
        );
        break;
      }
      case 'reconnected':
        warn('reconnected to the server');
        break;
      default:
        break;
    }
  };
  const agent = new ProtocolAgent({
    serverUrl: server,
    wallet,
    bountyId: Number(id),
    // The sign-in challenge must name this deployment's chain and Bounties contract.
    chainId: Number((await ctx.provider.getNetwork()).chainId),
    verifyingContract: ctx.addresses.bounties,
    train: (i) => trainer.train(i),
    onEvent,
    spec,
  });
  const timers: NodeJS.Timeout[] = [];
  const onSigint = () => finish('interrupted');
  process.once('SIGINT', onSigint);
  let why: string;
  try {
    await Promise.race([
      agent.start(),
      new Promise((_r, reject) =>
        timers.push(
          setTimeout(
            () =>
              reject(
                new CliError('SERVER_UNREACHABLE', `could not sign in to ${server} within 30 s`),
              ),
            30_000,
          ),
        ),
      ),
    ]);
    if (timeoutMs !== undefined) timers.push(setTimeout(() => finish('timeout'), timeoutMs));
    // The chain says when the bounty is over, whichever rounds this agent was in.
    const poll = setInterval(() => {
      ctx.contracts.bounties.getBounty(id).then(
        (s) => {
          if (s.roundsRecorded >= s.rounds) finish('bounty settled');
        },
        () => undefined,
      );
    }, 1000);
    timers.push(poll);
    why = await finished;
    // Rewards of aggregated rounds follow once they are scored and settled on chain.
    const until = Date.now() + (why === 'interrupted' ? 0 : 60_000);
    const pending = () => [...rows.values()].some((r) => r.state === 'aggregated');
    while (pending() && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
  } finally {
    for (const t of timers) clearTimeout(t);
    process.off('SIGINT', onSigint);
    agent.stop();
    bar.stop();
    trainer.dispose();
  }
  const decimals = await tokenDecimals(ctx.provider, b.token);
  const leaves = await ctx.contracts.bounties.unclaimedLeaves(id, wallet.address, {
    fromBlock: ctx.fromBlock,
  });
  const claimable = leaves.reduce((s, l) => s + l.reward, 0n);
  const list = [...rows.values()].sort((a, z) => a.round - z.round);
  const summary = {
    bountyId: id,
    account: wallet.address,
    samples: size(data),
    joinedOnChain: chain.joined,
    stake: chain.stake,
    stopped: why,
    rounds: list,
    claimable,
    warnings,
  };
  if (ctx.json) ctx.io.stdout(toJson(summary) + '\n');
  else {
    if (list.length > 0)
      ctx.io.stdout(
        table(
          ['round', 'group', 'state', 'score', 'reward'],
          list.map((r) => [
            r.round,
            r.group,
            r.state,
            showScore(r.score),
            r.reward === undefined ? null : showTokens(BigInt(r.reward), decimals),
          ]),
        ),
      );
    ctx.io.stdout(
      fields([
        ['account', wallet.address],
        ['local samples', size(data)],
        ['stopped', why],
        [
          'claimable now',
          `${showTokens(claimable, decimals)}${claimable > 0n ? ` (tributary claim ${id})` : ''}`,
        ],
      ]),
    );
  }
  if (why === 'timeout' && list.length === 0)
    fail('TIMEOUT', `no round of bounty ${id} started within --timeout`);
}

export function joinCommand(io: Io): Command {
  return new Command('join')
    .argument('<bounty>', 'bounty id')
    .requiredOption(
      '--data <source>',
      'mnist | fashion-mnist (training split) | file.csv | images,labels (IDX, .gz ok)',
    )
    .option(
      '--label <column>',
      'label column of a CSV file (name or 0-based index; default the last)',
    )
    .option('--limit <n>', 'use only the first n samples')
    .option(
      '--shard <i/n>',
      'use every n-th sample starting at i (to split a data set between agents)',
    )
    .option('--stake <tokens>', "stake to deposit (default: the bounty's minimum)")
    .option('--rounds <n>', 'leave after taking part in n rounds')
    .option('--timeout <seconds>', 'leave after this many seconds')
    .option('--seed <n>', 'seed of the local batch order', '1')
    .action(async (id: string, o: JoinOptions, c: Command) =>
      withContext(c.optsWithGlobals() as GlobalOptions, io, (ctx) => join(ctx, id, o)),
    );
}
