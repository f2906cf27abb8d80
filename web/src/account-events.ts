/**
 * An address's money on chain, from the contracts' events (JSON-RPC `eth_getLogs` on the chain
 * GET /chain names, decoded with the compiled ABIs): stakes it put in (`Joined`), rewards it
 * claimed (`Claimed`), stake slashed for a negative contribution (`Slashed`), stake withdrawn
 * after the deadline (`StakeWithdrawn`), licence revenue it claimed (`RevenueClaimed`) and
 * licences it bought (`LicencePurchased`). Loaded on first use of the Contributor page.
 */
import { Interface, zeroPadValue } from 'ethers';
import { abi as bountiesAbi } from '../../contracts/artifacts/Bounties.json';
import { abi as registryAbi } from '../../contracts/artifacts/ModelRegistry.json';
import { api } from './api.js';
import { rpc, type RpcLog } from './rpc.js';

const bounties = new Interface(bountiesAbi);
const registry = new Interface(registryAbi);

export type EventKind = 'stake' | 'claim' | 'slash' | 'withdraw' | 'revenue' | 'licence';

export interface AccountEvent {
  kind: EventKind;
  bountyId: number;
  /** Ledger round, for claims, slashes and revenue. */
  round: number | null;
  /** Token units. */
  amount: bigint;
  blockNumber: number;
  logIndex: number;
  tx: string;
}

function getLogs(url: string, address: string, topics: (string | null)[]): Promise<RpcLog[]> {
  return rpc<RpcLog[]>(url, 'eth_getLogs', [
    { address, topics, fromBlock: '0x0', toBlock: 'latest' },
  ]);
}

/**
 * Where the account sits among each event's indexed topics (after the event's own topic), and
 * how to read the round and the amount from the decoded arguments.
 */
const SOURCES: {
  kind: EventKind;
  contract: 'bounties' | 'registry';
  event: string;
  accountTopic: number;
  round?: string;
  amount: string;
}[] = [
  { kind: 'stake', contract: 'bounties', event: 'Joined', accountTopic: 2, amount: 'stake' },
  {
    kind: 'claim',
    contract: 'bounties',
    event: 'Claimed',
    accountTopic: 3,
    round: 'round',
    amount: 'amount',
  },
  {
    kind: 'slash',
    contract: 'bounties',
    event: 'Slashed',
    accountTopic: 3,
    round: 'round',
    amount: 'amount',
  },
  {
    kind: 'withdraw',
    contract: 'bounties',
    event: 'StakeWithdrawn',
    accountTopic: 2,
    amount: 'amount',
  },
  {
    kind: 'revenue',
    contract: 'registry',
    event: 'RevenueClaimed',
    accountTopic: 2,
    round: 'round',
    amount: 'amount',
  },
  {
    kind: 'licence',
    contract: 'registry',
    event: 'LicencePurchased',
    accountTopic: 2,
    amount: 'amount',
  },
];

export async function accountEvents(address: string): Promise<AccountEvent[]> {
  const { rpcUrl, contracts } = await api.chain();
  const who = zeroPadValue(address.toLowerCase(), 32);
  const lists = await Promise.all(
    SOURCES.map(async (s) => {
      const iface = s.contract === 'bounties' ? bounties : registry;
      const topics: (string | null)[] = [iface.getEvent(s.event)!.topicHash];
      while (topics.length < s.accountTopic) topics.push(null);
      topics.push(who);
      const logs = await getLogs(rpcUrl, contracts[s.contract], topics);
      return logs.map((l): AccountEvent => {
        const p = iface.parseLog({ topics: l.topics, data: l.data })!;
        return {
          kind: s.kind,
          bountyId: Number(p.args.getValue('bountyId') as bigint),
          round: s.round ? Number(p.args.getValue(s.round) as bigint) : null,
          amount: p.args.getValue(s.amount) as bigint,
          blockNumber: Number(l.blockNumber),
          logIndex: Number(l.logIndex),
          tx: l.transactionHash,
        };
      });
    }),
  );
  return lists.flat().sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
}
