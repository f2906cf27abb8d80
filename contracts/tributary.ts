/**
 * Typed helpers over ethers v6 to deploy and use the Tributary contracts. Every transaction
 * method waits for its receipt and throws a `ChainError` (typed `code`) when the call reverts.
 */
import {
  Contract,
  ContractFactory,
  type ContractRunner,
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
  type Provider,
  type Signer,
  Interface,
  isError,
} from 'ethers';
import { BountiesArtifact, ModelRegistryArtifact, RewardTokenArtifact } from './artifacts/index.js';
import { ChainError, toChainError } from './errors.js';
import {
  readRecordedRounds,
  type LogQuery,
  type RecordedContribution,
  type RecordedRound,
} from './events.js';
import { packContribution, roundProofs, roundRoot, type RoundContribution } from './merkle.js';

export type { LogQuery, RecordedContribution, RecordedRound } from './events.js';

export interface TributaryAddresses {
  token: string;
  bounties: string;
  registry: string;
}

export interface TributaryContracts {
  token: RewardToken;
  bounties: Bounties;
  registry: ModelRegistry;
  addresses: TributaryAddresses;
}

export interface DeployOptions {
  /** Initial RewardToken supply, minted to `tokenHolder` (default 1e9 tokens of 18 decimals). */
  tokenSupply?: bigint;
  /** Receives the initial supply and owns the token (may mint); default the deployer. */
  tokenHolder?: string;
}

/** Arguments of `Bounties.createBounty`. */
export interface BountyParams {
  token: string;
  budget: bigint;
  rounds: number;
  minParticipants: number;
  minStake: bigint;
  /** Unix seconds; rounds may be recorded up to and including it. */
  deadline: bigint;
  coordinator: string;
  modelSpecHash: string;
  validationSetHash: string;
}

/** Stored state of a bounty. */
export interface BountyState {
  sponsor: string;
  deadline: bigint;
  rounds: number;
  roundsRecorded: number;
  coordinator: string;
  minParticipants: number;
  token: string;
  roundBudget: bigint;
  minStake: bigint;
  deposited: bigint;
  allocated: bigint;
  paid: bigint;
  refunded: bigint;
  modelSpecHash: string;
  validationSetHash: string;
}

/**
 * A recorded contribution with its Merkle proof: the argument of `claim`, `slash`,
 * `claimRevenue` and `claimContributorLicence`.
 */
export interface ContributionLeaf extends RoundContribution {
  round: bigint;
  index: number;
  proof: string[];
}

export enum LicenceKind {
  ContributorsOnly = 0,
  Open = 1,
  Paid = 2,
}

export interface LicenceTerms {
  kind: LicenceKind;
  token: string;
  price: bigint;
}

export interface ModelVersion {
  artifactHash: string;
  publishedAt: bigint;
  ratingCount: number;
  ratingSum: number;
  uri: string;
}

const ZERO = '0x0000000000000000000000000000000000000000';

function readOnly(c: Contract): Provider {
  const p = c.runner?.provider;
  if (!p) throw new ChainError('CHAIN_FAILURE', [], 'contract has no provider');
  return p;
}

/** How long one `wait()` waits before the receipt is asked for again. */
const RECEIPT_POLL_MS = 2000;

/**
 * The transaction's receipt once mined. `wait()` asks for the receipt once and then only on a new
 * block: when the block holding the transaction was mined between the send and that first look
 * (an automining dev chain under load) and no other transaction follows, no new block ever comes
 * and `wait()` never returns. Each `wait()` here gives up after RECEIPT_POLL_MS and the next one
 * looks again.
 */
async function minedReceipt(
  tx: ContractTransactionResponse,
): Promise<ContractTransactionReceipt | null> {
  for (;;) {
    try {
      return await tx.wait(1, RECEIPT_POLL_MS);
    } catch (e) {
      if (!isError(e, 'TIMEOUT')) throw e;
    }
  }
}

/** Calls a contract method, waits for the receipt, maps reverts to ChainError. */
async function send(
  c: Contract,
  method: string,
  args: unknown[],
): Promise<ContractTransactionReceipt> {
  try {
    const tx = (await c.getFunction(method)(...args)) as ContractTransactionResponse;
    const receipt = await minedReceipt(tx);
    if (!receipt || receipt.status !== 1)
      throw new ChainError('REVERTED', [], `${method} reverted`);
    return receipt;
  } catch (e) {
    throw toChainError(e);
  }
}

async function call<T>(c: Contract, method: string, args: unknown[]): Promise<T> {
  try {
    return (await c.getFunction(method).staticCall(...args)) as T;
  } catch (e) {
    throw toChainError(e);
  }
}

function eventArgs(iface: Interface, receipt: ContractTransactionReceipt, name: string): unknown[] {
  for (const log of receipt.logs) {
    const parsed = iface.parseLog(log);
    if (parsed?.name === name) return [...parsed.args];
  }
  throw new ChainError('CHAIN_FAILURE', [], `no ${name} event in ${receipt.hash}`);
}

/** Base of the typed wrappers: the ethers Contract is available as `contract`. */
abstract class Wrapper {
  readonly contract: Contract;
  constructor(
    readonly address: string,
    abi: ConstructorParameters<typeof Interface>[0],
    readonly runner: ContractRunner,
  ) {
    this.contract = new Contract(address, abi, runner);
  }
  get interface(): Interface {
    return this.contract.interface;
  }
}

/** RewardToken (ERC-20 + permit + owner mint). */
export class RewardToken extends Wrapper {
  constructor(address: string, runner: ContractRunner) {
    super(address, RewardTokenArtifact.abi, runner);
  }
  connect(runner: ContractRunner): RewardToken {
    return new RewardToken(this.address, runner);
  }
  balanceOf(account: string): Promise<bigint> {
    return call(this.contract, 'balanceOf', [account]);
  }
  allowance(owner: string, spender: string): Promise<bigint> {
    return call(this.contract, 'allowance', [owner, spender]);
  }
  totalSupply(): Promise<bigint> {
    return call(this.contract, 'totalSupply', []);
  }
  approve(spender: string, amount: bigint): Promise<ContractTransactionReceipt> {
    return send(this.contract, 'approve', [spender, amount]);
  }
  transfer(to: string, amount: bigint): Promise<ContractTransactionReceipt> {
    return send(this.contract, 'transfer', [to, amount]);
  }
  /** Owner only. */
  mint(to: string, amount: bigint): Promise<ContractTransactionReceipt> {
    return send(this.contract, 'mint', [to, amount]);
  }
}

function toBounty(r: unknown): BountyState {
  const b = r as unknown[] & Record<string, unknown>;
  return {
    sponsor: b.sponsor as string,
    deadline: b.deadline as bigint,
    rounds: Number(b.rounds),
    roundsRecorded: Number(b.roundsRecorded),
    coordinator: b.coordinator as string,
    minParticipants: Number(b.minParticipants),
    token: b.token as string,
    roundBudget: b.roundBudget as bigint,
    minStake: b.minStake as bigint,
    deposited: b.deposited as bigint,
    allocated: b.allocated as bigint,
    paid: b.paid as bigint,
    refunded: b.refunded as bigint,
    modelSpecHash: b.modelSpecHash as string,
    validationSetHash: b.validationSetHash as string,
  };
}

function leafTuple(l: ContributionLeaf): unknown[] {
  return [l.round, l.index, l.account, l.commitment, l.score, l.reward, l.proof];
}

/** Bounties: escrow + contribution ledger. */
export class Bounties extends Wrapper {
  constructor(address: string, runner: ContractRunner) {
    super(address, BountiesArtifact.abi, runner);
  }
  connect(runner: ContractRunner): Bounties {
    return new Bounties(this.address, runner);
  }

  /** Creates and funds a bounty (approve `budget` of the token to this contract first). */
  async createBounty(
    p: BountyParams,
  ): Promise<{ bountyId: bigint; receipt: ContractTransactionReceipt }> {
    const receipt = await send(this.contract, 'createBounty', [
      [
        p.token,
        p.budget,
        p.rounds,
        p.minParticipants,
        p.minStake,
        p.deadline,
        p.coordinator,
        p.modelSpecHash,
        p.validationSetHash,
      ],
    ]);
    const [bountyId] = eventArgs(this.interface, receipt, 'BountyCreated');
    return { bountyId: bountyId as bigint, receipt };
  }

  /** Joins with `stake` (approve it to this contract first unless it is zero). */
  join(bountyId: bigint, stake: bigint): Promise<ContractTransactionReceipt> {
    return send(this.contract, 'join', [bountyId, stake]);
  }

  /**
   * Records a round in one transaction (coordinator only). `contributions` are in leaf order;
   * rewards must fit in 96 bits. Returns the round's Merkle root (checked against the local tree).
   */
  async recordRound(
    bountyId: bigint,
    round: bigint | number,
    modelHash: string,
    contributions: readonly RoundContribution[],
  ): Promise<{ root: string; receipt: ContractTransactionReceipt }> {
    const args = recordRoundArgs(bountyId, round, modelHash, contributions);
    const receipt = await send(this.contract, 'recordRound', args);
    const recorded = eventArgs(this.interface, receipt, 'RoundRecorded');
    const root = recorded[3] as string;
    if (contributions.length > 0 && root !== roundRoot(contributions)) {
      throw new ChainError(
        'CHAIN_FAILURE',
        [],
        `on-chain root ${root} differs from the local tree`,
      );
    }
    return { root, receipt };
  }

  /**
   * Idempotent `recordRound` for retried jobs: when the round is already recorded with the same
   * batch (same root) it returns that root without sending anything; a different batch throws
   * `RoundAlreadyRecorded`.
   */
  async recordRoundOnce(
    bountyId: bigint,
    round: bigint | number,
    modelHash: string,
    contributions: readonly RoundContribution[],
  ): Promise<{ root: string; receipt: ContractTransactionReceipt | null }> {
    const expected = roundRoot(contributions);
    const existing = await this.roundRoot(bountyId, round);
    if (BigInt(existing) === 0n) {
      try {
        return await this.recordRound(bountyId, round, modelHash, contributions);
      } catch (e) {
        if (!(e instanceof ChainError && e.code === 'RoundAlreadyRecorded')) throw e;
      }
    }
    const root = await this.roundRoot(bountyId, round);
    if (root !== expected) {
      throw new ChainError(
        'RoundAlreadyRecorded',
        [bountyId, BigInt(round)],
        `round ${round} holds a different batch`,
      );
    }
    return { root, receipt: null };
  }

  /** Claims the rewards of `leaves` (all of one account) for that account. */
  async claim(
    bountyId: bigint,
    leaves: readonly ContributionLeaf[],
  ): Promise<{ amount: bigint; receipt: ContractTransactionReceipt }> {
    const receipt = await send(this.contract, 'claim', [bountyId, leaves.map(leafTuple)]);
    let amount = 0n;
    for (const log of receipt.logs) {
      const parsed = this.interface.parseLog(log);
      if (parsed?.name === 'Claimed') amount += parsed.args[4] as bigint;
    }
    return { amount, receipt };
  }

  /** Claims every unclaimed, non-zero reward of `account` in the bounty (no-op when none). */
  async claimAll(
    bountyId: bigint,
    account: string,
    q: LogQuery = {},
  ): Promise<{ amount: bigint; receipt: ContractTransactionReceipt | null }> {
    const leaves = await this.unclaimedLeaves(bountyId, account, q);
    if (leaves.length === 0) return { amount: 0n, receipt: null };
    return this.claim(bountyId, leaves);
  }

  /** Slashes `amount` of the stake of a recorded negative contribution (coordinator only). */
  slash(
    bountyId: bigint,
    leaf: ContributionLeaf,
    amount: bigint,
  ): Promise<ContractTransactionReceipt> {
    return send(this.contract, 'slash', [bountyId, leafTuple(leaf), amount]);
  }
  withdrawStake(bountyId: bigint): Promise<ContractTransactionReceipt> {
    return send(this.contract, 'withdrawStake', [bountyId]);
  }
  /** Sends the unallocated remainder to the sponsor (after the deadline or the last round). */
  refund(bountyId: bigint): Promise<ContractTransactionReceipt> {
    return send(this.contract, 'refund', [bountyId]);
  }

  async getBounty(bountyId: bigint): Promise<BountyState> {
    return toBounty(await call(this.contract, 'getBounty', [bountyId]));
  }
  bountyCount(): Promise<bigint> {
    return call(this.contract, 'bountyCount', []);
  }
  claimable(bountyId: bigint): Promise<bigint> {
    return call(this.contract, 'claimable', [bountyId]);
  }
  roundRoot(bountyId: bigint, round: bigint | number): Promise<string> {
    return call(this.contract, 'roundRoot', [bountyId, round]);
  }
  isClaimed(bountyId: bigint, round: bigint | number, index: number): Promise<boolean> {
    return call(this.contract, 'isClaimed', [bountyId, round, index]);
  }
  isSlashed(bountyId: bigint, round: bigint | number, index: number): Promise<boolean> {
    return call(this.contract, 'isSlashed', [bountyId, round, index]);
  }
  isParticipant(bountyId: bigint, account: string): Promise<boolean> {
    return call(this.contract, 'isParticipant', [bountyId, account]);
  }
  isSettled(bountyId: bigint): Promise<boolean> {
    return call(this.contract, 'isSettled', [bountyId]);
  }
  async stakeOf(bountyId: bigint, account: string): Promise<{ amount: bigint; joined: boolean }> {
    const [amount, joined] = await call<[bigint, boolean]>(this.contract, 'stakeOf', [
      bountyId,
      account,
    ]);
    return { amount, joined };
  }

  /**
   * Reads recorded rounds back from the chain's events (for audits and claims): every
   * `RoundRecorded` of the bounty (or of one round) with its `ContributionRecorded` events in
   * leaf order. Each round's root is recomputed from the events and checked.
   */
  async recordedRounds(
    bountyId: bigint,
    round?: bigint | number,
    q: LogQuery = {},
  ): Promise<RecordedRound[]> {
    return readRecordedRounds(
      readOnly(this.contract),
      this.interface,
      this.address,
      bountyId,
      round,
      q,
    );
  }

  /** The contributions of one round in leaf order (empty when the round is not recorded). */
  async roundContributions(
    bountyId: bigint,
    round: bigint | number,
    q: LogQuery = {},
  ): Promise<RecordedContribution[]> {
    const [r] = await this.recordedRounds(bountyId, round, q);
    return r?.contributions ?? [];
  }

  /** Every recorded contribution of `account` in the bounty, with proofs. */
  async leavesOf(bountyId: bigint, account: string, q: LogQuery = {}): Promise<ContributionLeaf[]> {
    return leavesFor(await this.recordedRounds(bountyId, undefined, q), account);
  }

  /** The contributions of `account` with a reward that are not claimed yet, with proofs. */
  async unclaimedLeaves(
    bountyId: bigint,
    account: string,
    q: LogQuery = {},
  ): Promise<ContributionLeaf[]> {
    const leaves = (await this.leavesOf(bountyId, account, q)).filter((l) => l.reward > 0n);
    const claimed = await Promise.all(
      leaves.map((l) => this.isClaimed(bountyId, l.round, l.index)),
    );
    return leaves.filter((_, i) => !claimed[i]);
  }
}

/** Leaves (with proofs) of `account` across recorded rounds. */
export function leavesFor(rounds: readonly RecordedRound[], account: string): ContributionLeaf[] {
  const out: ContributionLeaf[] = [];
  const who = account.toLowerCase();
  for (const r of rounds) {
    const proofs = roundProofs(r.contributions);
    r.contributions.forEach((c, i) => {
      if (c.account.toLowerCase() !== who) return;
      const { account: a, commitment, score, reward } = c;
      out.push({
        round: r.round,
        index: i,
        account: a,
        commitment,
        score,
        reward,
        proof: proofs[i] as string[],
      });
    });
  }
  return out;
}

/**
 * The argument list of `Bounties.recordRound` for a batch:
 * (bountyId, round, modelHash, uint256[] accountsAndRewards, bytes32[] commitments, int256[] scores).
 */
export function recordRoundArgs(
  bountyId: bigint,
  round: bigint | number,
  modelHash: string,
  contributions: readonly RoundContribution[],
): [bigint, bigint | number, string, bigint[], string[], bigint[]] {
  return [
    bountyId,
    round,
    modelHash,
    contributions.map((c) => packContribution(c.account, c.reward)),
    contributions.map((c) => c.commitment),
    contributions.map((c) => c.score),
  ];
}

/** ModelRegistry: versions, licences, revenue split, ratings. */
export class ModelRegistry extends Wrapper {
  constructor(address: string, runner: ContractRunner) {
    super(address, ModelRegistryArtifact.abi, runner);
  }
  connect(runner: ContractRunner): ModelRegistry {
    return new ModelRegistry(this.address, runner);
  }
  /** Sponsor only. For non-paid kinds pass no token and no price. */
  setLicenceTerms(
    bountyId: bigint,
    kind: LicenceKind,
    token = ZERO,
    price = 0n,
  ): Promise<ContractTransactionReceipt> {
    return send(this.contract, 'setLicenceTerms', [bountyId, kind, token, price]);
  }
  /** Coordinator only; versions are 1, 2, ... */
  publishVersion(
    bountyId: bigint,
    version: bigint | number,
    artifactHash: string,
    uri: string,
  ): Promise<ContractTransactionReceipt> {
    return send(this.contract, 'publishVersion', [bountyId, version, artifactHash, uri]);
  }
  /** Buys a paid licence (approve the price to the registry first). */
  async buyLicence(
    bountyId: bigint,
  ): Promise<{ amount: bigint; receipt: ContractTransactionReceipt }> {
    const receipt = await send(this.contract, 'buyLicence', [bountyId]);
    const args = eventArgs(this.interface, receipt, 'LicencePurchased');
    return { amount: args[3] as bigint, receipt };
  }
  /**
   * Grants the contributors' licence to `leaf.account` for one recorded contribution with a
   * reward (anyone may send it). Throws `NoReward`, `InvalidProof` or `AlreadyLicensed`.
   */
  claimContributorLicence(
    bountyId: bigint,
    leaf: ContributionLeaf,
  ): Promise<ContractTransactionReceipt> {
    return send(this.contract, 'claimContributorLicence', [bountyId, leafTuple(leaf)]);
  }
  /**
   * Claims the contributors' licence of `account` with its first rewarded contribution, found
   * (with its proof) from the chain's events as `Bounties.claimAll` does. Returns null when
   * `account` has no recorded contribution with a reward; throws `AlreadyLicensed` when it
   * holds a bought or claimed licence already (ask `hasLicence` first).
   */
  async claimContributorLicenceFor(
    bountyId: bigint,
    account: string,
    q: LogQuery = {},
  ): Promise<{ leaf: ContributionLeaf; receipt: ContractTransactionReceipt } | null> {
    const leaves = await (await this.bounties()).leavesOf(bountyId, account, q);
    const leaf = leaves.find((l) => l.reward > 0n);
    if (!leaf) return null;
    return { leaf, receipt: await this.claimContributorLicence(bountyId, leaf) };
  }
  /**
   * Pays `leaves`' account its share of the licence revenue in `token`; when it pays anything
   * it also grants that account the contributors' licence (if it holds none yet).
   */
  async claimRevenue(
    bountyId: bigint,
    token: string,
    leaves: readonly ContributionLeaf[],
  ): Promise<{ amount: bigint; receipt: ContractTransactionReceipt }> {
    const receipt = await send(this.contract, 'claimRevenue', [
      bountyId,
      token,
      leaves.map(leafTuple),
    ]);
    let amount = 0n;
    for (const log of receipt.logs) {
      const parsed = this.interface.parseLog(log);
      if (parsed?.name === 'RevenueClaimed') amount += parsed.args[5] as bigint;
    }
    return { amount, receipt };
  }
  rate(
    bountyId: bigint,
    version: bigint | number,
    stars: 1 | 2 | 3 | 4 | 5,
  ): Promise<ContractTransactionReceipt> {
    return send(this.contract, 'rate', [bountyId, version, stars]);
  }
  /**
   * Whether `account` may use the model: open terms, a bought licence, a claimed contributor's
   * licence, or the sponsor. Joining the bounty alone grants none.
   */
  hasLicence(bountyId: bigint, account: string): Promise<boolean> {
    return call(this.contract, 'hasLicence', [bountyId, account]);
  }
  /** The Bounties contract whose bounties this registry serves, on the same runner. */
  async bounties(): Promise<Bounties> {
    return new Bounties(await call<string>(this.contract, 'bounties', []), this.runner);
  }
  async licenceTerms(bountyId: bigint): Promise<LicenceTerms> {
    const r = await call<unknown[]>(this.contract, 'licenceTerms', [bountyId]);
    return { kind: Number(r[0]) as LicenceKind, token: r[1] as string, price: r[2] as bigint };
  }
  async latestVersion(bountyId: bigint): Promise<bigint> {
    return call(this.contract, 'latestVersion', [bountyId]);
  }
  async getVersion(bountyId: bigint, version: bigint | number): Promise<ModelVersion> {
    const r = await call<unknown[]>(this.contract, 'getVersion', [bountyId, version]);
    return {
      artifactHash: r[0] as string,
      publishedAt: r[1] as bigint,
      ratingCount: Number(r[2]),
      ratingSum: Number(r[3]),
      uri: r[4] as string,
    };
  }
  revenueOf(bountyId: bigint, token: string): Promise<bigint> {
    return call(this.contract, 'revenueOf', [bountyId, token]);
  }
}

async function deploy(
  artifact: { abi: ConstructorParameters<typeof Interface>[0]; bytecode: string },
  signer: Signer,
  args: unknown[],
): Promise<string> {
  try {
    const factory = new ContractFactory(artifact.abi, artifact.bytecode, signer);
    const contract = await factory.deploy(...args);
    await contract.waitForDeployment();
    return await contract.getAddress();
  } catch (e) {
    throw toChainError(e);
  }
}

/** Deploys RewardToken, Bounties and ModelRegistry, in that order, from `deployer`. */
export async function deployTributary(
  deployer: Signer,
  opts: DeployOptions = {},
): Promise<TributaryContracts> {
  const holder = opts.tokenHolder ?? (await deployer.getAddress());
  const supply = opts.tokenSupply ?? 10n ** 27n;
  const token = await deploy(RewardTokenArtifact, deployer, [holder, supply]);
  const bounties = await deploy(BountiesArtifact, deployer, []);
  const registry = await deploy(ModelRegistryArtifact, deployer, [bounties]);
  return attachTributary({ token, bounties, registry }, deployer);
}

/** Typed handles on already deployed contracts. */
export function attachTributary(
  addresses: TributaryAddresses,
  runner: ContractRunner,
): TributaryContracts {
  return {
    token: new RewardToken(addresses.token, runner),
    bounties: new Bounties(addresses.bounties, runner),
    registry: new ModelRegistry(addresses.registry, runner),
    addresses: { ...addresses },
  };
}
