/**
 * `tributary bounty create|register|list|show`: the sponsor's journey. A bounty is created and
 * funded in escrow on chain (only the hashes of the spec and of the validation set go there), its
 * licence terms are set, and the spec, the validation set and the initial weights are registered
 * with the aggregator, which checks them against those hashes.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { Contract, getAddress, isAddress, type Provider } from 'ethers';
import { DEFAULT_PRG, PRG_NAMES, type PrgName } from '../../aggregation/index.js';
import { LicenceKind, RewardToken, type BountyState } from '../../contracts/index.js';
import { featureSize } from '../data/dataset.js';
import {
  parseBountyId,
  parseCount,
  parseTokens,
  request,
  requireBounty,
  showTokens,
  withContext,
  getJson,
  type Context,
  type GlobalOptions,
} from './context.js';
import { loadData } from './data.js';
import { CliError, fail } from './errors.js';
import { fields, progress, table, toJson, type Io } from './io.js';
import {
  buildSpec,
  encodeValidation,
  loadArchitecture,
  specHash,
  validationHash,
  type BountySpec,
} from './spec.js';
import { requireWallet } from './wallet.js';

const KIND_NAMES: Record<LicenceKind, string> = {
  [LicenceKind.ContributorsOnly]: 'contributors-only',
  [LicenceKind.Open]: 'open',
  [LicenceKind.Paid]: 'paid',
};

export async function tokenDecimals(provider: Provider, token: string): Promise<number> {
  try {
    const c = new Contract(token, ['function decimals() view returns (uint8)'], provider);
    return Number(await c.getFunction('decimals').staticCall());
  } catch {
    return 18;
  }
}

/** Unix seconds from `30d`, `12h`, `45m`, an ISO date, or unix seconds; durations count from `now`. */
export function parseDeadline(text: string, now: bigint): bigint {
  const d = /^(\d+)([dhm])$/.exec(text.trim());
  if (d) return now + BigInt(Number(d[1]) * { d: 86400, h: 3600, m: 60 }[d[2] as 'd' | 'h' | 'm']);
  if (/^\d{9,}$/.test(text.trim())) return BigInt(text.trim());
  const t = Date.parse(text);
  if (Number.isNaN(t))
    fail(
      'BAD_ARGUMENT',
      `--deadline must be like 30d, 12h, an ISO date or unix seconds, got "${text}"`,
    );
  return BigInt(Math.floor(t / 1000));
}

/** A negative number from the command line. */
function negative(text: string, flag: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v >= 0)
    fail('BAD_ARGUMENT', `${flag} must be a negative number, got ${text}`);
  return v;
}

interface CreateOptions {
  model: string;
  validation: string;
  validationLabel?: string;
  validationLimit?: string;
  budget: string;
  rounds: string;
  minParticipants: string;
  minStake: string;
  deadline: string;
  coordinator?: string;
  token?: string;
  licence: string;
  price?: string;
  minGroupSize: string;
  maxGroups: string;
  clip: string;
  strategy: string;
  epochs: string;
  batchSize: string;
  learningRate: string;
  seed: string;
  weightCap?: string;
  robust: string;
  slashBelow?: string;
  prg: string;
  save?: string;
  register: boolean;
}

interface Registration {
  id: number;
  spec: BountySpec;
  specHash: string;
  validationHash: string;
  /** Base64 of the canonical validation-set bytes. */
  validation: string;
  /** Base64 of float32 LE initial weights (model version 0). */
  initialWeights: string;
}

/** POST /bounties: hands the aggregator what only the hashes on chain commit to. */
export async function registerWithServer(server: string, reg: Registration): Promise<void> {
  await request(server, '/bounties', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(reg),
  });
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function num(text: string, name: string, positive = true): number {
  const n = Number(text);
  if (!Number.isFinite(n) || (positive && n <= 0))
    fail('BAD_ARGUMENT', `${name} must be a positive number, got "${text}"`);
  return n;
}

async function create(ctx: Context, o: CreateOptions): Promise<void> {
  const { io } = ctx;
  const rounds = parseCount(o.rounds, '--rounds');
  if (rounds > 65535) fail('BAD_ARGUMENT', '--rounds must be at most 65535');
  const minParticipants = parseCount(o.minParticipants, '--min-participants');
  const token = o.token ?? ctx.addresses.token;
  if (!isAddress(token)) fail('BAD_ARGUMENT', `--token is not an address: ${token}`);
  const coordinator = o.coordinator ?? ctx.coordinator;
  if (!coordinator) {
    fail(
      'BAD_ARGUMENT',
      "--coordinator <address> is required (the aggregator's settlement account)",
    );
  }
  if (!isAddress(coordinator))
    fail('BAD_ARGUMENT', `--coordinator is not an address: ${coordinator}`);
  const decimals = await tokenDecimals(ctx.provider, token);
  const budget = parseTokens(o.budget, '--budget', decimals);
  if (budget === 0n) fail('BAD_ARGUMENT', '--budget must be above zero');
  const minStake = parseTokens(o.minStake, '--min-stake', decimals);
  const kind =
    o.licence === 'open'
      ? LicenceKind.Open
      : o.licence === 'paid'
        ? LicenceKind.Paid
        : o.licence === 'contributors'
          ? LicenceKind.ContributorsOnly
          : fail('BAD_ARGUMENT', `--licence must be open, contributors or paid, got ${o.licence}`);
  const price =
    kind === LicenceKind.Paid
      ? parseTokens(
          o.price ?? fail('BAD_ARGUMENT', '--licence paid needs --price <tokens>'),
          '--price',
          decimals,
        )
      : undefined;
  if (price === 0n) fail('BAD_ARGUMENT', '--price must be above zero');

  const sponsor = await requireWallet(ctx.opts, io, ctx.provider);
  const bar = progress(io, ctx.json);
  bar.start(5, 'model spec');
  const architecture = await loadArchitecture(o.model);
  const { spec, initial, inputShape } = await buildSpec(architecture, {
    minParticipants,
    minGroupSize: parseCount(o.minGroupSize, '--min-group-size'),
    maxGroups: parseCount(o.maxGroups, '--max-groups'),
    clip: num(o.clip, '--clip'),
    strategy: o.strategy,
    epochs: parseCount(o.epochs, '--epochs'),
    batchSize: parseCount(o.batchSize, '--batch-size'),
    learningRate: num(o.learningRate, '--learning-rate'),
    licenceOpen: kind === LicenceKind.Open,
    priceWei: price,
    seed: parseCount(o.seed, '--seed', 0),
    weightCap: o.weightCap === undefined ? undefined : parseCount(o.weightCap, '--weight-cap'),
    robust: o.robust,
    slashBelow: o.slashBelow === undefined ? undefined : negative(o.slashBelow, '--slash-below'),
    prg: o.prg as PrgName,
  });
  bar.update(1, 'validation set');
  const val = await loadData(o.validation, 'test', {
    label: o.validationLabel,
    limit:
      o.validationLimit === undefined
        ? undefined
        : parseCount(o.validationLimit, '--validation-limit'),
  });
  const want = inputShape.reduce((a, b) => a * b, 1);
  if (featureSize(val) !== want) {
    fail(
      'DATA_SHAPE',
      `the validation set has ${featureSize(val)} features per sample, the model takes ${want} ([${inputShape}])`,
    );
  }
  const valBytes = encodeValidation(val);
  const hashes = { specHash: specHash(spec), validationHash: validationHash(valBytes) };

  const { bounties, registry } = ctx.contracts;
  const erc20 = new RewardToken(token, sponsor);
  const balance = await erc20.balanceOf(sponsor.address);
  if (balance < budget) {
    fail(
      'INSUFFICIENT_FUNDS',
      `the sponsor ${sponsor.address} holds ${showTokens(balance, decimals)} tokens, the budget is ${showTokens(budget, decimals)}`,
    );
  }
  bar.update(2, 'approve');
  if ((await erc20.allowance(sponsor.address, bounties.address)) < budget) {
    await erc20.approve(bounties.address, budget);
  }
  bar.update(3, 'create');
  const block = await ctx.provider.getBlock('latest');
  const deadline = parseDeadline(
    o.deadline,
    BigInt(block?.timestamp ?? Math.floor(Date.now() / 1000)),
  );
  const { bountyId, receipt } = await bounties.connect(sponsor).createBounty({
    token,
    budget,
    rounds,
    minParticipants,
    minStake,
    deadline,
    coordinator: getAddress(coordinator),
    modelSpecHash: hashes.specHash,
    validationSetHash: hashes.validationHash,
  });
  bar.update(4, 'licence');
  if (kind !== LicenceKind.ContributorsOnly) {
    await registry
      .connect(sponsor)
      .setLicenceTerms(bountyId, kind, kind === LicenceKind.Paid ? token : undefined, price);
  }
  bar.update(5, 'done');
  bar.stop();
  const state = await bounties.getBounty(bountyId);
  const reg: Registration = {
    id: Number(bountyId),
    spec,
    ...hashes,
    validation: b64(valBytes),
    initialWeights: b64(new Uint8Array(initial.buffer, initial.byteOffset, initial.byteLength)),
  };
  if (o.save) {
    await mkdir(o.save, { recursive: true });
    await writeFile(join(o.save, `bounty-${bountyId}.json`), toJson(reg));
  }
  let registered = o.register ? 'no server' : 'not asked';
  let regError: CliError | undefined;
  if (ctx.server && o.register) {
    try {
      await registerWithServer(ctx.server, reg);
      registered = ctx.server;
    } catch (e) {
      regError = e instanceof CliError ? e : new CliError('SERVER_ERROR', String(e));
      registered = `failed (${regError.code})`;
    }
  }
  const out = {
    bountyId,
    tx: receipt.hash,
    sponsor: sponsor.address,
    token,
    deposited: state.deposited,
    roundBudget: state.roundBudget,
    rounds,
    minParticipants,
    minStake,
    deadline: state.deadline,
    coordinator: state.coordinator,
    licence: KIND_NAMES[kind],
    price,
    ...hashes,
    registered,
    ...(regError ? { error: { code: regError.code, message: regError.message } } : {}),
  };
  if (ctx.json) io.stdout(toJson(out) + '\n');
  else
    io.stdout(
      fields([
        ['bounty', bountyId],
        ['transaction', receipt.hash],
        [
          'escrowed',
          `${showTokens(state.deposited, decimals)} (${showTokens(state.roundBudget, decimals)} per round, ${rounds} rounds)`,
        ],
        ['min participants', minParticipants],
        ['min stake', showTokens(minStake, decimals)],
        ['deadline', new Date(Number(state.deadline) * 1000).toISOString()],
        ['coordinator', state.coordinator],
        [
          'licence',
          KIND_NAMES[kind] + (price !== undefined ? ` at ${showTokens(price, decimals)}` : ''),
        ],
        ['model spec hash', hashes.specHash],
        ['validation set hash', hashes.validationHash],
        ['server', registered],
      ]),
    );
  if (regError) {
    throw new CliError(
      regError.code,
      `bounty ${bountyId} is funded on chain, but the server did not take its registration: ${regError.message}` +
        (o.save
          ? `; retry with: tributary bounty register ${bountyId} --from ${join(o.save, `bounty-${bountyId}.json`)}`
          : ''),
      // With --json the document above already carries the error.
      { bountyId: bountyId.toString(), reported: ctx.json },
    );
  }
}

async function register(ctx: Context, idText: string, from: string): Promise<void> {
  const id = parseBountyId(idText);
  const server =
    ctx.server ?? fail('NO_SERVER', 'registration needs --server <url> or TRIBUTARY_SERVER');
  const state = await requireBounty(ctx, id);
  let reg: Registration;
  try {
    reg = JSON.parse(await readFile(from, 'utf8')) as Registration;
  } catch {
    return fail(
      'BAD_ARGUMENT',
      `${from} is not a registration file written by bounty create --save`,
    );
  }
  const valHash = validationHash(Buffer.from(reg.validation, 'base64'));
  if (
    BigInt(reg.id) !== id ||
    specHash(reg.spec) !== state.modelSpecHash ||
    valHash !== state.validationSetHash
  ) {
    fail(
      'HASH_MISMATCH',
      `${from} does not match bounty ${id} on chain (spec or validation-set hash differs)`,
    );
  }
  await registerWithServer(server, reg);
  say(ctx, { bountyId: id, registered: server }, `bounty ${id} registered with ${server}\n`);
}

/** One result: JSON with --json, text otherwise. */
function say(ctx: Context, json: unknown, text: string): void {
  ctx.io.stdout(ctx.json ? toJson(json) + '\n' : text);
}

function status(b: BountyState, now: bigint): string {
  if (b.roundsRecorded === b.rounds) return 'settled';
  if (now > b.deadline) return 'expired';
  return 'open';
}

interface ServerBounty {
  id: number;
  status: string;
}

async function serverBounties(ctx: Context): Promise<Map<number, ServerBounty> | undefined> {
  if (!ctx.server) return undefined;
  try {
    const rows = await getJson<ServerBounty[]>(ctx.server, '/bounties');
    return new Map(rows.map((r) => [r.id, r]));
  } catch {
    return undefined;
  }
}

async function list(ctx: Context): Promise<void> {
  const count = await ctx.contracts.bounties.bountyCount();
  const now = BigInt((await ctx.provider.getBlock('latest'))?.timestamp ?? 0);
  const onServer = await serverBounties(ctx);
  const rows: { id: bigint; state: BountyState; status: string; server: string }[] = [];
  for (let id = 1n; id <= count; id++) {
    const state = await ctx.contracts.bounties.getBounty(id);
    rows.push({
      id,
      state,
      status: status(state, now),
      server: onServer ? (onServer.get(Number(id))?.status ?? 'unregistered') : '-',
    });
  }
  if (ctx.json) {
    ctx.io.stdout(
      toJson(rows.map((r) => ({ id: r.id, status: r.status, server: r.server, ...r.state }))) +
        '\n',
    );
    return;
  }
  if (rows.length === 0) {
    ctx.io.stdout('no bounties yet\n');
    return;
  }
  ctx.io.stdout(
    table(
      [
        'id',
        'status',
        'server',
        'rounds',
        'escrowed',
        'per round',
        'allocated',
        'paid',
        'min part.',
        'deadline',
        'sponsor',
      ],
      rows.map(({ id, state: b, status: s, server }) => [
        id,
        s,
        server,
        `${b.roundsRecorded}/${b.rounds}`,
        showTokens(b.deposited),
        showTokens(b.roundBudget),
        showTokens(b.allocated),
        showTokens(b.paid),
        b.minParticipants,
        new Date(Number(b.deadline) * 1000).toISOString().slice(0, 16).replace('T', ' '),
        b.sponsor,
      ]),
    ),
  );
}

async function show(ctx: Context, idText: string): Promise<void> {
  const id = parseBountyId(idText);
  const b = await requireBounty(ctx, id);
  const now = BigInt((await ctx.provider.getBlock('latest'))?.timestamp ?? 0);
  const [terms, latest, claimable] = await Promise.all([
    ctx.contracts.registry.licenceTerms(id),
    ctx.contracts.registry.latestVersion(id),
    ctx.contracts.bounties.claimable(id),
  ]);
  const decimals = await tokenDecimals(ctx.provider, b.token);
  const onServer = (await serverBounties(ctx))?.get(Number(id));
  const out = {
    id,
    status: status(b, now),
    ...b,
    claimable,
    licence: { kind: KIND_NAMES[terms.kind], token: terms.token, price: terms.price },
    latestVersion: latest,
    server: onServer ?? null,
  };
  if (ctx.json) {
    ctx.io.stdout(toJson(out) + '\n');
    return;
  }
  ctx.io.stdout(
    fields([
      ['bounty', id],
      ['status', out.status],
      ['sponsor', b.sponsor],
      ['coordinator', b.coordinator],
      ['token', b.token],
      ['escrowed', showTokens(b.deposited, decimals)],
      ['per round', showTokens(b.roundBudget, decimals)],
      ['rounds recorded', `${b.roundsRecorded}/${b.rounds}`],
      ['allocated', showTokens(b.allocated, decimals)],
      ['paid', showTokens(b.paid, decimals)],
      ['claimable', showTokens(claimable, decimals)],
      ['refunded', showTokens(b.refunded, decimals)],
      ['min participants', b.minParticipants],
      ['min stake', showTokens(b.minStake, decimals)],
      ['deadline', new Date(Number(b.deadline) * 1000).toISOString()],
      [
        'licence',
        KIND_NAMES[terms.kind] +
          (terms.kind === LicenceKind.Paid ? ` at ${showTokens(terms.price, decimals)}` : ''),
      ],
      ['model versions', latest],
      ['model spec hash', b.modelSpecHash],
      ['validation set hash', b.validationSetHash],
      ['server', onServer ? onServer.status : ctx.server ? 'unregistered' : 'no server'],
    ]),
  );
}

export function bountyCommand(io: Io): Command {
  const cmd = new Command('bounty');
  const g = (c: Command) => c.optsWithGlobals() as GlobalOptions;
  cmd
    .command('create')
    .description('create a bounty and fund it in escrow on chain, then register it with the server')
    .requiredOption(
      '--model <spec>',
      'cnn | linear:<features>x<classes> | tfjs model.json | JSON with a topology',
    )
    .requiredOption(
      '--validation <source>',
      'validation data: mnist | fashion-mnist (test split) | file.csv | images,labels (IDX)',
    )
    .option(
      '--validation-label <column>',
      'label column of a CSV validation set (name or 0-based index)',
    )
    .option('--validation-limit <n>', 'use only the first n validation samples')
    .requiredOption('--budget <tokens>', 'token budget escrowed for the rewards')
    .requiredOption('--rounds <n>', 'number of rounds')
    .option('--min-participants <n>', 'contributors a round needs', '3')
    .option('--min-stake <tokens>', 'stake a data owner deposits to join', '0')
    .option(
      '--deadline <when>',
      'last moment rounds can be recorded: 30d, 12h, ISO date, unix seconds',
      '30d',
    )
    .option(
      '--coordinator <address>',
      "the aggregator's settlement account (default: from the deployment)",
    )
    .option('--token <address>', "ERC-20 of the budget (default: the deployment's RewardToken)")
    .option('--licence <kind>', 'open | contributors | paid', 'contributors')
    .option('--price <tokens>', 'licence price (with --licence paid)')
    .option('--min-group-size <n>', 'smallest secure-aggregation group', '3')
    .option('--max-groups <n>', 'most groups per round (Shapley is exact up to 8)', '8')
    .option('--clip <l2>', 'L2 bound of each update', '10')
    .option('--strategy <name>', 'fedavg | fedadam | fedyogi', 'fedavg')
    .option('--epochs <n>', 'local epochs per round', '1')
    .option('--batch-size <n>', 'local batch size', '32')
    .option('--learning-rate <lr>', 'local learning rate', '0.05')
    .option('--seed <n>', 'seed of the initial weights', '1')
    .option(
      '--weight-cap <n>',
      'largest sample weight one update may carry (default 16384); bounds any one member’s pull on its group',
    )
    .option(
      '--slash-below <score>',
      "slash, when the last round settles, the stake of every contribution whose final score is below this negative number (in the utility's units: validation loss)",
    )
    .option(
      '--robust <rule>',
      'rule over group means: default (trimmed mean from 5 groups on) | median | trimmed | none',
      'default',
    )
    .option(
      '--prg <name>',
      `mask PRG: ${PRG_NAMES.join(' | ')} (the default measured faster in the aggregation benchmark)`,
      DEFAULT_PRG,
    )
    .option(
      '--save <dir>',
      'also write the registration (spec, validation set, initial weights) there',
    )
    .option('--no-register', 'do not register the bounty with the server')
    .action(async (o: CreateOptions, c: Command) => withContext(g(c), io, (ctx) => create(ctx, o)));
  cmd
    .command('register <bounty>')
    .description('register a funded bounty with the server from a file written by create --save')
    .requiredOption('--from <file>', 'registration file')
    .action(async (id: string, o: { from: string }, c: Command) =>
      withContext(g(c), io, (ctx) => register(ctx, id, o.from)),
    );
  cmd
    .command('list')
    .description('every bounty on chain, with its status on the server')
    .action(async (_o: unknown, c: Command) => withContext(g(c), io, (ctx) => list(ctx)));
  cmd
    .command('show <bounty>')
    .description('one bounty: escrow, rounds, licence, model versions')
    .action(async (id: string, _o: unknown, c: Command) =>
      withContext(g(c), io, (ctx) => show(ctx, id)),
    );
  return cmd;
}
