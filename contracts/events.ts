/**
 * Recorded rounds read back from the Bounties contract's events: one `RoundRecorded` per round and
 * one `ContributionRecorded` per contribution, in leaf order; each round's Merkle root is rebuilt
 * from its events and must equal the root the contract computed, so a log source that drops,
 * reorders or invents a contribution is caught.
 *
 * Browser-safe: it needs only a way to fetch logs (an ethers Provider, or a few lines of JSON-RPC)
 * and the Bounties ABI as an ethers Interface, not the contracts' bytecode; the CLI (through
 * `Bounties.recordedRounds`) and the web app's audit both read the chain with it.
 */
import { zeroPadValue, toBeHex, type Interface } from 'ethers';
import { ChainError } from './chain-error.js';
import { roundRoot, type RoundContribution } from './merkle.js';

/** A contribution as recorded on chain: its round, its position (leaf index) and its data. */
export interface RecordedContribution extends RoundContribution {
  bountyId: bigint;
  round: bigint;
  index: number;
  blockNumber: number;
  transactionHash: string;
}

/** A recorded round, as read back from its events. */
export interface RecordedRound {
  bountyId: bigint;
  round: bigint;
  modelHash: string;
  root: string;
  totalReward: bigint;
  contributions: RecordedContribution[];
}

export interface LogQuery {
  /** First block to scan (default 0). */
  fromBlock?: number;
}

/** The fields of a log the reader uses (an ethers `Log` has them). */
export interface EventLog {
  readonly topics: readonly string[];
  readonly data: string;
  readonly transactionHash: string;
  /** Position of the log in its block. */
  readonly index: number;
  readonly blockNumber: number;
}

export interface LogFilter {
  address: string;
  topics: (string | null)[];
  fromBlock: number;
  toBlock: number | 'latest';
}

/** Where logs come from: an ethers Provider satisfies it. */
export interface LogSource {
  getLogs(filter: LogFilter): Promise<readonly EventLog[]>;
}

export const topic = (value: bigint | number): string => zeroPadValue(toBeHex(value), 32);

/**
 * Every recorded round of `bountyId` (or only `round`) in round order, each with its
 * contributions in leaf order; throws `ChainError` CHAIN_FAILURE when a round's events do not
 * rebuild its recorded root.
 */
export async function readRecordedRounds(
  logs: LogSource,
  bounties: Interface,
  address: string,
  bountyId: bigint,
  round?: bigint | number,
  q: LogQuery = {},
): Promise<RecordedRound[]> {
  const topics = (name: string): (string | null)[] => {
    const t: (string | null)[] = [bounties.getEvent(name)!.topicHash, topic(bountyId)];
    if (round !== undefined) t.push(topic(round));
    return t;
  };
  const fromBlock = q.fromBlock ?? 0;
  // The rounds first, then their contributions up to the last block holding one of them: both
  // queries see the same rounds even when a new one is mined between them (read in parallel up
  // to 'latest', a round could be seen without its contributions).
  const roundLogs = await logs.getLogs({
    address,
    fromBlock,
    toBlock: 'latest',
    topics: topics('RoundRecorded'),
  });
  if (roundLogs.length === 0) return [];
  const toBlock = Math.max(...roundLogs.map((l) => l.blockNumber));
  const contributionLogs = await logs.getLogs({
    address,
    fromBlock,
    toBlock,
    topics: topics('ContributionRecorded'),
  });
  return recordedRoundsFromLogs(bounties, bountyId, roundLogs, contributionLogs);
}

/** The rounds of `bountyId` from its `RoundRecorded` and `ContributionRecorded` logs. */
export function recordedRoundsFromLogs(
  bounties: Interface,
  bountyId: bigint,
  roundLogs: readonly EventLog[],
  contributionLogs: readonly EventLog[],
): RecordedRound[] {
  const parse = (l: EventLog) => bounties.parseLog({ topics: [...l.topics], data: l.data })!;
  const byRound = new Map<bigint, EventLog[]>();
  for (const log of contributionLogs) {
    const r = BigInt(log.topics[2] as string);
    const list = byRound.get(r) ?? [];
    list.push(log);
    byRound.set(r, list);
  }
  const rounds: RecordedRound[] = [];
  for (const log of roundLogs) {
    const parsed = parse(log);
    const r = parsed.args[1] as bigint;
    const logs = (byRound.get(r) ?? [])
      .filter((l) => l.transactionHash === log.transactionHash)
      .sort((a, b) => a.index - b.index);
    const contributions = logs.map((l, index): RecordedContribution => {
      const p = parse(l);
      return {
        bountyId,
        round: r,
        index,
        account: p.args[2] as string,
        commitment: p.args[3] as string,
        score: p.args[4] as bigint,
        reward: p.args[5] as bigint,
        blockNumber: l.blockNumber,
        transactionHash: l.transactionHash,
      };
    });
    const root = parsed.args[3] as string;
    if (contributions.length === 0 || roundRoot(contributions) !== root) {
      throw new ChainError(
        'CHAIN_FAILURE',
        [],
        `round ${r}: events do not match the recorded root`,
      );
    }
    rounds.push({
      bountyId,
      round: r,
      modelHash: parsed.args[2] as string,
      root,
      totalReward: parsed.args[5] as bigint,
      contributions,
    });
  }
  return rounds.sort((a, b) => (a.round < b.round ? -1 : a.round > b.round ? 1 : 0));
}
