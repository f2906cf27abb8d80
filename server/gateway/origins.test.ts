/**
 * The Socket.IO namespaces hold browsers to the same origins as REST (`CORS_ORIGINS`), while
 * agents (Node, no Origin header) and the web app on the aggregator's own origin connect; and
 * per-IP rate limits count the client behind a trusted proxy (`TRUST_PROXY`), on REST and on the
 * socket sign-in alike. Real server, PostgreSQL, Redis, anvil and Socket.IO over loopback.
 */
import { Wallet } from 'ethers';
import { io, type Socket } from 'socket.io-client';
import { parseRateLimits } from '../abuse/rate-limits.js';
import type { RunningServer } from '../app.js';
import type { Chain } from '../chain/chain.service.js';
import { loadConfig } from '../config.js';
import { startTestChain, startTestServer, stopTestServer } from '../test/harness.js';

/** Connects to `ns` with `headers`; resolves to 'connected' or the connect error's message/code. */
async function dial(url: string, ns: string, headers: Record<string, string>, auth = {}) {
  const socket: Socket = io(`${url}${ns}`, {
    transports: ['websocket'],
    reconnection: false,
    extraHeaders: headers,
    auth,
  });
  try {
    return await new Promise<string>((resolve) => {
      socket.once('connect', () => resolve('connected'));
      socket.once('connect_error', (e: Error & { data?: { code?: string } }) =>
        resolve(e.data?.code ?? e.message),
      );
    });
  } finally {
    socket.close();
  }
}

async function challenge(url: string, forwardedFor: string): Promise<number> {
  const res = await fetch(`${url}/auth/challenge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    body: JSON.stringify({ address: Wallet.createRandom().address }),
  });
  return res.status;
}

describe('socket origins and the client address behind a proxy', () => {
  let chain: Chain;
  let strict: RunningServer;
  let proxied: RunningServer;

  beforeAll(async () => {
    chain = await startTestChain();
    strict = await startTestServer(chain, { corsOrigins: ['https://app.example.org'] });
    proxied = await startTestServer(chain, {
      trustProxy: ['loopback'],
      rateLimits: parseRateLimits('challenge=2/60,signin=1/60'),
    });
  });
  afterAll(async () => {
    await stopTestServer(strict);
    await stopTestServer(proxied);
    await chain.stop!();
  });

  it('a browser from another origin is refused on /watch and /agents; a listed one, the own origin and Node agents connect', async () => {
    for (const ns of ['/watch', '/agents']) {
      expect(await dial(strict.url, ns, { origin: 'https://evil.example' })).toMatch(
        /websocket error|xhr poll error|Forbidden/i,
      );
    }
    expect(await dial(strict.url, '/watch', { origin: 'https://app.example.org' })).toBe(
      'connected',
    );
    expect(await dial(strict.url, '/watch', { origin: strict.url })).toBe('connected');
    expect(await dial(strict.url, '/watch', {})).toBe('connected');
    // An agent (no Origin) reaches the sign-in, which refuses the empty credentials itself.
    expect(await dial(strict.url, '/agents', {})).toBe('UNAUTHENTICATED');
  });

  it('with TRUST_PROXY, per-IP limits count the forwarded client (REST challenge and socket sign-in)', async () => {
    // Two challenges per IP a minute: a third from one client is refused, another client is not.
    expect(await challenge(proxied.url, '203.0.113.7')).toBe(200);
    expect(await challenge(proxied.url, '203.0.113.7')).toBe(200);
    expect(await challenge(proxied.url, '203.0.113.7')).toBe(429);
    expect(await challenge(proxied.url, '198.51.100.9')).toBe(200);
    // One socket sign-in per IP a minute (the credentials are bogus: the limit comes first).
    const bogus = {
      address: Wallet.createRandom().address,
      nonce: `0x${'33'.repeat(32)}`,
      signature: '0x00',
    };
    const xff = (ip: string) => ({ 'x-forwarded-for': ip });
    expect(await dial(proxied.url, '/agents', xff('203.0.113.7'), bogus)).toBe('UNAUTHENTICATED');
    expect(await dial(proxied.url, '/agents', xff('203.0.113.7'), bogus)).toBe('RATE_LIMITED');
    expect(await dial(proxied.url, '/agents', xff('198.51.100.9'), bogus)).toBe('UNAUTHENTICATED');
  });

  it('without it, a forged X-Forwarded-For buys no fresh budget', async () => {
    // No TRUST_PROXY: every request is the loopback peer's, whatever it claims.
    const server = await startTestServer(chain, {
      rateLimits: parseRateLimits('challenge=2/60'),
    });
    try {
      expect(await challenge(server.url, '192.0.2.1')).toBe(200);
      expect(await challenge(server.url, '192.0.2.2')).toBe(200);
      expect(await challenge(server.url, '192.0.2.3')).toBe(429);
    } finally {
      await stopTestServer(server);
    }
  });

  it('TRUST_PROXY is parsed, and a bad value is refused at start', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8' }).trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
      'fd00::/8',
    ]);
    expect(() => loadConfig({ TRUST_PROXY: 'proxy.example' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/TRUST_PROXY/);
  });
});
