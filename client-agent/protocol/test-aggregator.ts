/**
 * A stand-in aggregator for the agent's own tests (a liar, or one briefly unwell): a real HTTP
 * server on loopback whose `POST /auth/challenge` answers a well-formed EIP-712 sign-in challenge
 * for its own origin (passed through `challenge`, which may rewrite it), any other route through
 * `route`, and a real Socket.IO server whose `/agents` namespace the test wires as it needs.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Wallet } from 'ethers';
import { Server } from 'socket.io';
import { SIGN_IN_TYPES, signInDomain, type SignInChallenge } from '../../server/auth/signin.js';

export interface TestAggregator {
  url: string;
  io: Server;
  close(): Promise<void>;
}

export async function startTestAggregator(
  opts: {
    /** The Bounties contract the honest challenge names (a random address by default). */
    bounties?: string;
    /** What the challenge route answers, from the honest challenge for the asking agent. */
    challenge?: (honest: SignInChallenge) => unknown;
    /** Other routes: return true when the request was answered. */
    route?: (req: IncomingMessage, res: ServerResponse) => boolean;
  } = {},
): Promise<TestAggregator> {
  const bounties = opts.bounties ?? Wallet.createRandom().address;
  let url = '';
  const http = createServer((req, res) => {
    if (opts.route?.(req, res)) return;
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const { address } = JSON.parse(body) as { address: string };
      const honest: SignInChallenge = {
        domain: signInDomain(31337, bounties),
        types: SIGN_IN_TYPES,
        message: { agent: address, nonce: `0x${'11'.repeat(32)}`, expiry: 2e9, server: url },
      };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(opts.challenge ? opts.challenge(honest) : honest));
    });
  });
  const io = new Server(http);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return { url, io, close: () => io.close() };
}
