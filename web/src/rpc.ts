/**
 * Plain JSON-RPC to the chain, as the web app reads it (no ethers provider: the pages need
 * `eth_getLogs` and `eth_call` only). Every failure is an `RpcError` naming what failed.
 */

export class RpcError extends Error {
  override readonly name = 'RpcError';
}

/** A log as `eth_getLogs` returns it (numbers as hex strings). */
export interface RpcLog {
  topics: string[];
  data: string;
  transactionHash: string;
  logIndex: string;
  blockNumber: string;
}

let rpcId = 0;

export async function rpc<T>(url: string, method: string, params: unknown[]): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
    });
  } catch {
    throw new RpcError(`the chain RPC at ${url} does not answer`);
  }
  if (!res.ok) throw new RpcError(`the chain RPC answered HTTP ${res.status} to ${method}`);
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new RpcError(`${method}: ${body.error.message}`);
  if (body.result === undefined) throw new RpcError(`${method}: no result`);
  return body.result;
}
