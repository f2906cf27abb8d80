/**
 * Threat model, an untrusted aggregator: it relays a sign-in challenge meant for another
 * aggregator or another deployment (so that the agent's signature signs it in there). The agent
 * checks the challenge's origin, its own address, the chain and the Bounties contract before its
 * wallet signs anything, and refuses with CHALLENGE_MISMATCH. The liar is a real HTTP and
 * Socket.IO server on loopback; the agent is the real one.
 */
import { Wallet } from 'ethers';
import type { SignInChallenge } from '../../server/auth/signin.js';
import { ProtocolAgent, ProtocolError, type AgentEvent } from './index.js';
import { startTestAggregator, type TestAggregator } from './test-aggregator.js';

const BOUNTIES = Wallet.createRandom().address;

describe('an agent signs only a challenge for the aggregator, chain and contract it expects', () => {
  let liar: TestAggregator;
  let url: string;
  /** What the liar answers, from the honest challenge for the asking agent. */
  let lie: (honest: SignInChallenge) => unknown = (c) => c;
  /** Handshakes the liar's socket server saw (a signature in one would be a signed lie). */
  const handshakes: unknown[] = [];

  beforeAll(async () => {
    liar = await startTestAggregator({ bounties: BOUNTIES, challenge: (honest) => lie(honest) });
    url = liar.url;
    const io = liar.io;
    io.of('/agents').use((socket, next) => {
      handshakes.push(socket.handshake.auth);
      next(
        (socket.handshake.auth as { signature?: string }).signature
          ? undefined
          : new Error('UNAUTHENTICATED'),
      );
    });
    io.of('/agents').on('connection', (socket) => {
      socket.on('join', (_b: unknown, ack?: (r: unknown) => void) => ack?.({ ok: true }));
    });
  });
  afterAll(async () => {
    await liar.close();
  });

  async function signIn(
    edit: (c: SignInChallenge) => unknown,
  ): Promise<{ err?: unknown; events: AgentEvent[] }> {
    lie = edit;
    handshakes.length = 0;
    const events: AgentEvent[] = [];
    const agent = new ProtocolAgent({
      serverUrl: url,
      wallet: Wallet.createRandom() as unknown as Wallet,
      bountyId: 1,
      chainId: 31337,
      verifyingContract: BOUNTIES,
      reconnect: false,
      train: async () => ({ delta: new Float32Array(3), samples: 1 }),
      onEvent: (e) => events.push(e),
    });
    try {
      await agent.start();
      return { events };
    } catch (err) {
      return { err, events };
    } finally {
      agent.stop();
    }
  }

  function expectRefused(r: { err?: unknown }, why: RegExp): void {
    expect(r.err).toBeInstanceOf(ProtocolError);
    expect((r.err as ProtocolError).code).toBe('CHALLENGE_MISMATCH');
    expect((r.err as ProtocolError).message).toMatch(why);
    // Nothing signed reached the liar.
    expect(handshakes.some((h) => (h as { signature?: string }).signature)).toBe(false);
  }

  it('the honest challenge is signed and the agent joins (the check passes what it should)', async () => {
    const r = await signIn((c) => c);
    expect(r.err).toBeUndefined();
    expect(
      handshakes.some((h) =>
        /^0x[0-9a-f]{130}$/.test(String((h as { signature?: string }).signature)),
      ),
    ).toBe(true);
  });

  it('a challenge naming another aggregator’s origin', async () => {
    const r = await signIn((c) => ({
      ...c,
      message: { ...c.message, server: 'https://other-aggregator.example' },
    }));
    expectRefused(
      r,
      /names https:\/\/other-aggregator\.example, this agent dialled http:\/\/127\.0\.0\.1/,
    );
  });

  it('a challenge without the origin, with types that leave it out', async () => {
    const r = await signIn((c) => {
      const { agent, nonce, expiry } = c.message;
      return {
        ...c,
        types: { SignIn: c.types.SignIn.slice(0, 3) },
        message: { agent, nonce, expiry },
      };
    });
    expectRefused(r, /names undefined/);
  });

  it('a challenge on another chain', async () => {
    const r = await signIn((c) => ({ ...c, domain: { ...c.domain, chainId: 1 } }));
    expectRefused(r, /chain 1, expected 31337/);
  });

  it('a challenge for another deployment’s Bounties contract', async () => {
    const other = Wallet.createRandom().address;
    const r = await signIn((c) => ({ ...c, domain: { ...c.domain, verifyingContract: other } }));
    expectRefused(r, /contract 0x[0-9a-fA-F]{40}, expected/);
  });

  it('a challenge for another wallet', async () => {
    const r = await signIn((c) => ({
      ...c,
      message: { ...c.message, agent: Wallet.createRandom().address },
    }));
    expectRefused(r, /it is for 0x/);
  });
});
