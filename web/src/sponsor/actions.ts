/**
 * The Sponsor page's transactions, each as the CLI runs it (client-agent/cli bounty.ts, claim.ts,
 * model.ts) through the typed helpers of contracts/tributary.ts: every step reports its
 * transaction hash as soon as it is mined, and every failure is an error with a code
 * (errors.ts).
 */
import { formatUnits, getAddress, parseUnits } from 'ethers';
import { parseCsv } from '../../../client-agent/data/csv-parse.js';
import { featureSize, size } from '../../../client-agent/data/dataset.js';
import { LicenceKind, RewardToken } from '../../../contracts/tributary.js';
import { api } from '../api.js';
import { ActionError } from './errors.js';
import { encodeValidationBytes, specHashOf, toBase64, validationHashOf } from './encode.js';
import { buildBountySpec, CNN_CLASSES, CNN_INPUT } from './model.js';
import { devWallet, type Session } from './wallet.js';

export interface Step {
  label: string;
  state: 'running' | 'done' | 'skipped' | 'failed';
  tx?: string;
  detail?: string;
}

export type Report = (step: Step) => void;

/** Runs one step: reports it running, then done with what `run` returns. */
async function step<T extends { tx?: string; detail?: string } | void>(
  report: Report,
  label: string,
  run: () => Promise<T>,
): Promise<T> {
  report({ label, state: 'running' });
  const out = await run();
  report({ label, state: 'done', ...(out ?? {}) });
  return out;
}

export const TOKEN_DECIMALS = 18;
export const showTokens = (v: bigint): string => formatUnits(v, TOKEN_DECIMALS);

export function parseTokens(text: string, name: string): bigint {
  try {
    const v = parseUnits(text.trim(), TOKEN_DECIMALS);
    if (v < 0n) throw new Error();
    return v;
  } catch {
    throw new ActionError(
      'BAD_ARGUMENT',
      `${name} must be a token amount like 100 or 2.5, got "${text}"`,
    );
  }
}

function count(v: number, name: string, min = 1, max = 2 ** 31 - 1): number {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new ActionError(
      'BAD_ARGUMENT',
      `${name} must be a whole number in [${min}, ${max}], got ${v}`,
    );
  return v;
}

export const bountyIdOf = (v: number): bigint => BigInt(count(v, 'the bounty id'));

export interface Balances {
  eth: bigint;
  tokens: bigint;
}

export async function balances(s: Session): Promise<Balances> {
  const provider = s.signer.provider!;
  const [eth, tokens] = await Promise.all([
    provider.getBalance(s.address),
    s.contracts.token.balanceOf(s.address),
  ]);
  return { eth, tokens };
}

/** Dev chain only: sends test tokens from development account #0, which holds the supply. */
export async function devFaucet(s: Session, amount: bigint, report: Report): Promise<void> {
  const holder = devWallet(s.chain, 0);
  await step(report, `receive ${showTokens(amount)} test tokens from dev account #0`, async () => ({
    tx: (await new RewardToken(s.chain.contracts.token, holder).transfer(s.address, amount)).hash,
  }));
}

export type LicenceChoice = 'contributors' | 'open' | 'paid';

const KINDS: Record<LicenceChoice, LicenceKind> = {
  contributors: LicenceKind.ContributorsOnly,
  open: LicenceKind.Open,
  paid: LicenceKind.Paid,
};

export interface CreateForm {
  model: 'linear' | 'cnn';
  /** Text of the validation CSV (numeric features, integer label). */
  csv: string;
  /** Label column (name or 0-based index); empty: the last column. */
  label: string;
  budget: string;
  rounds: number;
  minParticipants: number;
  minStake: string;
  deadlineDays: number;
  licence: LicenceChoice;
  price: string;
  strategy: 'fedavg' | 'fedadam' | 'fedyogi';
  epochs: number;
  batchSize: number;
  learningRate: number;
  minGroupSize: number;
  maxGroups: number;
  clip: number;
  seed: number;
}

export interface Created {
  bountyId: number;
  specHash: string;
  validationHash: string;
  params: number;
}

/**
 * `tributary bounty create`, in the page: parse the validation CSV, build the spec and the seeded
 * initial weights, approve and escrow the budget (`createBounty`, only the two hashes go on
 * chain), set the licence terms, then register spec + validation set + weights (POST /bounties,
 * which re-checks both hashes against the chain).
 */
export async function createBounty(s: Session, f: CreateForm, report: Report): Promise<Created> {
  const rounds = count(f.rounds, 'rounds', 1, 65535);
  const minParticipants = count(f.minParticipants, 'min participants');
  const minGroupSize = count(f.minGroupSize, 'min group size', 2);
  const maxGroups = count(f.maxGroups, 'max groups', 1, 64);
  const epochs = count(f.epochs, 'epochs', 1, 100);
  const batchSize = count(f.batchSize, 'batch size', 1, 4096);
  const seed = count(f.seed, 'seed', 0);
  const deadlineDays = count(f.deadlineDays, 'deadline (days)', 1, 3650);
  if (!(f.learningRate > 0 && f.learningRate <= 10))
    throw new ActionError('BAD_ARGUMENT', 'the learning rate must be in (0, 10]');
  if (!(f.clip > 0)) throw new ActionError('BAD_ARGUMENT', 'the clip bound must be above zero');
  const budget = parseTokens(f.budget, 'the budget');
  if (budget === 0n) throw new ActionError('BAD_ARGUMENT', 'the budget must be above zero');
  const minStake = parseTokens(f.minStake || '0', 'the minimum stake');
  const kind = KINDS[f.licence];
  const price = kind === LicenceKind.Paid ? parseTokens(f.price, 'the licence price') : undefined;
  if (price === 0n) throw new ActionError('BAD_ARGUMENT', 'the licence price must be above zero');
  if (!f.csv.trim()) throw new ActionError('NO_VALIDATION_SET', 'choose a validation CSV file');

  const val = await step(report, 'read the validation set', async () => {
    const label = f.label.trim();
    const ds = parseCsv(
      f.csv,
      label === '' ? {} : { label: /^\d+$/.test(label) ? Number(label) : label },
    );
    return {
      ds,
      detail: `${size(ds)} rows, ${featureSize(ds)} features, ${ds.numClasses} classes`,
    };
  });
  const ds = val.ds;
  const features = featureSize(ds);
  if (f.model === 'cnn') {
    const want = CNN_INPUT.reduce((a, b) => a * b, 1);
    if (features !== want)
      throw new ActionError(
        'DATA_SHAPE',
        `the CNN takes ${want} features (28×28×1) per row, the CSV has ${features}`,
      );
    if (ds.numClasses > CNN_CLASSES)
      throw new ActionError(
        'DATA_SHAPE',
        `the CNN has ${CNN_CLASSES} classes, the CSV has labels up to ${ds.numClasses - 1}`,
      );
  }
  const built = await step(report, 'build the model spec', async () => {
    const b = await buildBountySpec(
      f.model === 'cnn' ? { kind: 'cnn' } : { kind: 'linear', features, classes: ds.numClasses },
      {
        minParticipants,
        minGroupSize,
        maxGroups,
        clip: f.clip,
        strategy: f.strategy,
        epochs,
        batchSize,
        learningRate: f.learningRate,
        licenceOpen: kind === LicenceKind.Open,
        priceWei: price,
        seed,
      },
    );
    return {
      ...b,
      detail: `${b.initial.length.toLocaleString('en')} parameters, input [${b.inputShape.join('×')}]`,
    };
  });
  // The CNN's validation rows keep the CSV's flat shape, as the CLI sends them.
  const valBytes = encodeValidationBytes({
    shape: [...ds.sampleShape],
    classes: f.model === 'cnn' ? CNN_CLASSES : ds.numClasses,
    x: ds.x,
    y: ds.y,
  });
  const hashes = { specHash: specHashOf(built.spec), validationHash: validationHashOf(valBytes) };

  const { token, bounties, registry } = s.contracts;
  const held = await token.balanceOf(s.address);
  if (held < budget)
    throw new ActionError(
      'INSUFFICIENT_FUNDS',
      `${s.address} holds ${showTokens(held)} tokens, the budget is ${showTokens(budget)}`,
    );
  if ((await token.allowance(s.address, bounties.address)) < budget) {
    await step(report, `approve ${showTokens(budget)} tokens to the escrow`, async () => ({
      tx: (await token.approve(bounties.address, budget)).hash,
    }));
  } else
    report({
      label: 'approve the budget',
      state: 'skipped',
      detail: 'allowance already covers it',
    });
  const block = await s.signer.provider!.getBlock('latest');
  const now = BigInt(block?.timestamp ?? Math.floor(Date.now() / 1000));
  const created = await step(report, 'create and fund the bounty (createBounty)', async () => {
    const r = await bounties.createBounty({
      token: s.chain.contracts.token,
      budget,
      rounds,
      minParticipants,
      minStake,
      deadline: now + BigInt(deadlineDays) * 86400n,
      coordinator: getAddress(s.chain.coordinator),
      modelSpecHash: hashes.specHash,
      validationSetHash: hashes.validationHash,
    });
    return { id: r.bountyId, tx: r.receipt.hash, detail: `bounty #${r.bountyId}` };
  });
  const bountyId = created.id;
  if (kind !== LicenceKind.ContributorsOnly) {
    await step(report, `set the licence terms (${f.licence})`, async () => ({
      tx: (
        await registry.setLicenceTerms(
          bountyId,
          kind,
          kind === LicenceKind.Paid ? s.chain.contracts.token : undefined,
          price,
        )
      ).hash,
    }));
  }
  await step(report, 'register spec, validation set and weights with the aggregator', async () => {
    await api.register({
      id: Number(bountyId),
      spec: built.spec,
      validation: toBase64(valBytes),
      initialWeights: toBase64(
        new Uint8Array(built.initial.buffer, built.initial.byteOffset, built.initial.byteLength),
      ),
    });
    return { detail: 'POST /bounties accepted: both hashes match the chain' };
  });
  return { bountyId: Number(bountyId), ...hashes, params: built.initial.length };
}

export async function setTerms(
  s: Session,
  bountyId: bigint,
  licence: LicenceChoice,
  priceText: string,
  report: Report,
): Promise<void> {
  const kind = KINDS[licence];
  const price = kind === LicenceKind.Paid ? parseTokens(priceText, 'the price') : 0n;
  if (kind === LicenceKind.Paid && price === 0n)
    throw new ActionError('BAD_ARGUMENT', 'the licence price must be above zero');
  await step(report, `set the licence terms of #${bountyId} (${licence})`, async () => ({
    tx: (
      await s.contracts.registry.setLicenceTerms(
        bountyId,
        kind,
        kind === LicenceKind.Paid ? s.chain.contracts.token : undefined,
        price,
      )
    ).hash,
  }));
}

/** `tributary model download --buy`'s purchase: approve the price to the registry, buy. */
export async function buyLicence(s: Session, bountyId: bigint, report: Report): Promise<void> {
  const { registry } = s.contracts;
  if (await registry.hasLicence(bountyId, s.address)) {
    report({
      label: 'buy a licence',
      state: 'skipped',
      detail: 'this account holds a licence already',
    });
    return;
  }
  const terms = await registry.licenceTerms(bountyId);
  if (terms.kind !== LicenceKind.Paid)
    throw new ActionError(
      'NotForSale',
      terms.kind === LicenceKind.Open
        ? `bounty #${bountyId}'s model is open: no licence is needed`
        : `bounty #${bountyId}'s model is licensed to its contributors only`,
    );
  const token = new RewardToken(terms.token, s.signer);
  if ((await token.allowance(s.address, registry.address)) < terms.price) {
    await step(report, `approve ${showTokens(terms.price)} tokens to the registry`, async () => ({
      tx: (await token.approve(registry.address, terms.price)).hash,
    }));
  }
  await step(report, 'buy the licence (buyLicence)', async () => {
    const r = await registry.buyLicence(bountyId);
    return { tx: r.receipt.hash, detail: `paid ${showTokens(r.amount)} tokens` };
  });
}

export async function rateVersion(
  s: Session,
  bountyId: bigint,
  version: number,
  stars: 1 | 2 | 3 | 4 | 5,
  report: Report,
): Promise<void> {
  count(version, 'the version');
  await step(report, `rate version ${version} of #${bountyId}: ${stars} of 5`, async () => ({
    tx: (await s.contracts.registry.rate(bountyId, version, stars)).hash,
  }));
}

/** `tributary claim`: every unclaimed reward, Merkle proofs rebuilt from the chain's events. */
export async function claimRewards(s: Session, bountyId: bigint, report: Report): Promise<void> {
  const leaves = await s.contracts.bounties.unclaimedLeaves(bountyId, s.address);
  if (leaves.length === 0)
    throw new ActionError(
      'NothingToClaim',
      `${s.address} has no unclaimed reward in bounty #${bountyId}`,
    );
  await step(report, `claim rewards of ${leaves.length} contribution(s)`, async () => {
    const r = await s.contracts.bounties.claim(bountyId, leaves);
    return { tx: r.receipt.hash, detail: `received ${showTokens(r.amount)} tokens` };
  });
}

/** The contributor's share of licence revenue, by its rewarded contributions. */
export async function claimRevenue(s: Session, bountyId: bigint, report: Report): Promise<void> {
  const { bounties, registry } = s.contracts;
  const terms = await registry.licenceTerms(bountyId);
  if (terms.kind !== LicenceKind.Paid)
    throw new ActionError(
      'NotForSale',
      `bounty #${bountyId} sells no licences, so it has no revenue`,
    );
  const leaves = (await bounties.leavesOf(bountyId, s.address)).filter((l) => l.reward > 0n);
  if (leaves.length === 0)
    throw new ActionError(
      'NoReward',
      `${s.address} has no rewarded contribution in bounty #${bountyId}`,
    );
  await step(report, 'claim licence revenue (claimRevenue)', async () => {
    const r = await registry.claimRevenue(bountyId, terms.token, leaves);
    return { tx: r.receipt.hash, detail: `received ${showTokens(r.amount)} tokens` };
  });
}
