/**
 * The reward audit in the browser: the same `auditBounty` as `tributary audit`
 * (client-agent/audit), fed from the chain RPC directly (JSON-RPC `eth_getLogs` / `eth_call` over
 * fetch, decoded with ethers and the compiled Bounties ABI; the rounds' Merkle roots re-checked by
 * contracts/events.ts) and from a scoring record: the aggregator's published one or one the user
 * supplies. Nothing the aggregator says is trusted here except the record under audit, and that
 * is checked against the commitments on chain. Loaded on first use of the Audit page.
 */
import { Interface } from 'ethers';
import { abi as bountiesAbi } from '../../contracts/artifacts/Bounties.json';
import {
  readRecordedRounds,
  type EventLog,
  type LogFilter,
  type RecordedRound,
} from '../../contracts/events.js';
import {
  auditBounty,
  parseRecord,
  recordFromListing,
  type AuditReport,
  type ScoringRecord,
} from '../../client-agent/audit/index.js';
import { api } from './api.js';
import { rpc, RpcError, type RpcLog } from './rpc.js';

export { RpcError };

const bounties = new Interface(bountiesAbi);
const erc20 = new Interface(['function decimals() view returns (uint8)']);

/** A LogSource over plain JSON-RPC (what an ethers provider's getLogs does, without the provider). */
const logSource = (url: string) => ({
  async getLogs(f: LogFilter): Promise<EventLog[]> {
    const logs = await rpc<RpcLog[]>(url, 'eth_getLogs', [
      {
        address: f.address,
        topics: f.topics,
        fromBlock: '0x' + f.fromBlock.toString(16),
        toBlock: f.toBlock === 'latest' ? 'latest' : '0x' + f.toBlock.toString(16),
      },
    ]);
    return logs.map((l) => ({
      topics: l.topics,
      data: l.data,
      transactionHash: l.transactionHash,
      index: Number(l.logIndex),
      blockNumber: Number(l.blockNumber),
    }));
  },
});

async function call(url: string, to: string, iface: Interface, fn: string, args: unknown[] = []) {
  const data = await rpc<string>(url, 'eth_call', [
    { to, data: iface.encodeFunctionData(fn, args) },
    'latest',
  ]);
  if (data === '0x') throw new RpcError(`no contract answers ${fn} at ${to} on this chain`);
  return iface.decodeFunctionResult(fn, data);
}

export interface ChainSource {
  rpcUrl: string;
  /** The Bounties contract's address. */
  bounties: string;
}

export interface ChainView {
  chainId: number;
  roundBudget: bigint;
  token: string;
  decimals: number;
  rounds: RecordedRound[];
}

/** What the audit reads from the chain: the bounty's round budget and every recorded round. */
export async function readChain(src: ChainSource, bountyId: bigint): Promise<ChainView> {
  const [chainId, [b], rounds] = await Promise.all([
    rpc<string>(src.rpcUrl, 'eth_chainId', []),
    call(src.rpcUrl, src.bounties, bounties, 'getBounty', [bountyId]),
    readRecordedRounds(logSource(src.rpcUrl), bounties, src.bounties, bountyId),
  ]);
  const state = b as { roundBudget: bigint; token: string; sponsor: string };
  if (/^0x0{40}$/i.test(state.sponsor))
    throw new RpcError(`no bounty ${bountyId} on this chain (contract ${src.bounties})`);
  const [decimals] = await call(src.rpcUrl, state.token, erc20, 'decimals').catch(() => [18n]);
  return {
    chainId: Number(chainId),
    roundBudget: state.roundBudget,
    token: state.token,
    decimals: Number(decimals),
    rounds,
  };
}

/** The record the aggregator publishes (GET /bounties/:id/rounds), final rounds only. */
export async function publishedRecord(
  bountyId: bigint,
  onChain: ReadonlySet<number>,
): Promise<{ record: ScoringRecord; pending: number }> {
  return recordFromListing(bountyId, await api.rounds(Number(bountyId)), onChain);
}

export interface AuditRun {
  report: AuditReport;
  record: ScoringRecord;
  chain: ChainView;
  /** Scored rounds of the aggregator not yet on chain (not audited). */
  pending: number;
  /** Milliseconds: chain reads, fetching the record, the audit itself. */
  ms: { chain: number; record: number; audit: number };
}

/**
 * Reads the chain, takes the record (`recordText`, or the published one), audits. Throws
 * `RpcError` when the chain cannot be read and `AuditError` (BAD_RECORD) when the record cannot
 * be audited at all; a record that can be audited but disagrees is a report with findings.
 */
export async function runAudit(
  src: ChainSource,
  bountyId: bigint,
  recordText?: string,
): Promise<AuditRun> {
  const t0 = performance.now();
  const chain = await readChain(src, bountyId);
  const t1 = performance.now();
  const onChain = new Set(chain.rounds.map((r) => Number(r.round)));
  const { record, pending } =
    recordText === undefined
      ? await publishedRecord(bountyId, onChain)
      : { record: parseRecord(recordText, bountyId), pending: 0 };
  const t2 = performance.now();
  const report = auditBounty(bountyId, chain.roundBudget, chain.rounds, record);
  const t3 = performance.now();
  return {
    report,
    record,
    chain,
    pending,
    ms: { chain: t1 - t0, record: t2 - t1, audit: t3 - t2 },
  };
}
