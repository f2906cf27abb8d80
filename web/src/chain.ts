/**
 * Reads from the chain the aggregator names at GET /chain (JSON-RPC `eth_call`, no wallet): the
 * licence terms of a bounty's model live in the ModelRegistry, not on the aggregator.
 */
import { Interface } from 'ethers';
import { api, type ChainInfo } from './api.js';

/** ModelRegistry.LicenceKind, in the contract's order. */
export const LICENCE_KINDS = ['contributors only', 'open', 'paid'] as const;
export type LicenceKindName = (typeof LICENCE_KINDS)[number];

export interface Licence {
  kind: LicenceKindName;
  token: string;
  price: bigint;
}

const registry = new Interface([
  'function licenceTerms(uint256 bountyId) view returns (tuple(uint8 kind, address token, uint128 price))',
]);

let chainInfo: Promise<ChainInfo> | undefined;
let rpcId = 0;

async function ethCall(to: string, data: string): Promise<string> {
  const { rpcUrl } = await (chainInfo ??= api.chain());
  const res = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: ++rpcId,
      method: 'eth_call',
      params: [{ to, data }, 'latest'],
    }),
  });
  const body = (await res.json()) as { result?: string; error?: { message: string } };
  if (body.error || !body.result) throw new Error(body.error?.message ?? 'eth_call failed');
  return body.result;
}

export async function licenceTerms(bountyId: number): Promise<Licence> {
  const { contracts } = await (chainInfo ??= api.chain());
  const out = await ethCall(
    contracts.registry,
    registry.encodeFunctionData('licenceTerms', [BigInt(bountyId)]),
  );
  const [t] = registry.decodeFunctionResult('licenceTerms', out) as unknown as [
    { kind: bigint; token: string; price: bigint },
  ];
  return {
    kind: LICENCE_KINDS[Number(t.kind)] ?? 'contributors only',
    token: t.token,
    price: t.price,
  };
}
