/**
 * Threat model, an untrusted aggregator: it announces a round whose privacy parameters are weaker
 * than the bounty's spec (a threshold of 2 in a group of 5). The agent, holding the spec whose hash
 * is on chain, refuses the round with SPEC_MISMATCH before sending anything. The aggregator here is
 * a real Socket.IO server on loopback playing the liar; the agent under test is the real one.
 */
import { Wallet } from 'ethers';
import { defaultGroupParams, makeQuantConfig, type BountySpec } from '../../aggregation/index.js';
import { ProtocolAgent, type AgentEvent, type RoundStart } from './index.js';
import { startTestAggregator, type TestAggregator } from './test-aggregator.js';

const spec = {
  weightSpecs: [{ name: 'w', shape: [3], dtype: 'float32' }],
  minGroupSize: 3,
  clip: 1,
} as unknown as BountySpec;

describe('an agent refuses a round that breaks the bounty spec', () => {
  let liar: TestAggregator;
  let url: string;
  const received: { event: string; body: unknown }[] = [];
  let announce: (start: RoundStart) => void = () => undefined;

  beforeAll(async () => {
    // A well-formed sign-in challenge for this origin; any signature is accepted.
    liar = await startTestAggregator();
    url = liar.url;
    liar.io.of('/agents').on('connection', (socket) => {
      socket.onAny((event: string, body: unknown, ack?: (r: unknown) => void) => {
        received.push({ event, body });
        ack?.({ ok: true });
      });
      announce = (start) => socket.emit('round', start);
    });
  });
  afterAll(async () => {
    await liar.close();
  });

  /** A round start for the agent and four strangers, with `edit` applied. */
  function roundStart(address: string, edit: (r: RoundStart) => RoundStart): RoundStart {
    const members = [address, ...Array.from({ length: 4 }, () => Wallet.createRandom().address)];
    const q = makeQuantConfig({ clip: 1, maxClients: 5, maxWeight: 1 << 14 });
    const honest = defaultGroupParams(5);
    return edit({
      roundId: 8,
      bountyId: 1,
      round: 2,
      modelVersion: 0,
      modelUrl: '/models/1/versions/0/model.json',
      group: {
        index: 0,
        members,
        ...honest,
        myId: 1,
        key: 'g0',
        round: '1:2',
        dim: 4,
        prg: 'chacha20', // the spec names none: ChaCha20
      },
      quant: { clip: q.clip, scale: q.scale, maxClients: q.maxClients, maxWeight: q.maxWeight },
      train: { epochs: 1, batchSize: 1, learningRate: 0.1 },
      deadline: Date.now() + 10_000,
    });
  }

  /** An agent of bounty 1 on this aggregator, recording its events; `spec` is what it checks against. */
  function lyingTarget(
    events: AgentEvent[],
    opts: { wallet?: ReturnType<typeof Wallet.createRandom>; spec?: BountySpec } = {},
  ): ProtocolAgent {
    return new ProtocolAgent({
      serverUrl: url,
      wallet: (opts.wallet ?? Wallet.createRandom()) as unknown as Wallet,
      bountyId: 1,
      reconnect: false,
      ...(opts.spec ? { spec: opts.spec } : {}),
      train: async () => ({ delta: new Float32Array(3), samples: 1 }),
      onEvent: (e) => events.push(e),
    });
  }

  it('a plaintext round (benchmarks only): SPEC_MISMATCH, and no update is sent', async () => {
    const events: AgentEvent[] = [];
    const agent = lyingTarget(events);
    received.length = 0;
    try {
      await agent.start();
      // The join carried the wallet's certificate of the agent's Ed25519 key.
      const join = received.find((r) => r.event === 'join')?.body as {
        certificate: { key: string; signature: string };
      };
      expect(join.certificate.key).toMatch(/^0x[0-9a-f]{64}$/);
      expect(join.certificate.signature).toMatch(/^0x[0-9a-f]{130}$/);
      announce(roundStart(agent.address, (r) => ({ ...r, plaintext: true })));
      const until = Date.now() + 5000;
      while (!events.some((e) => e.type === 'error') && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
      const err = events.find((e) => e.type === 'error');
      expect((err?.detail as { code: string }).code).toBe('SPEC_MISMATCH');
      await new Promise((r) => setTimeout(r, 100));
      expect(received.filter((r) => r.event === 'stage')).toEqual([]);
    } finally {
      agent.stop();
    }
  });

  it('a malformed round announcement: BAD_MESSAGE, and nothing is sent', async () => {
    const events: AgentEvent[] = [];
    const agent = lyingTarget(events);
    received.length = 0;
    try {
      await agent.start();
      // A model path outside the aggregator's model routes, and a threshold of 1.
      announce(
        roundStart(agent.address, (r) => ({
          ...r,
          modelUrl: 'https://elsewhere.example/model.json',
          group: { ...r.group, threshold: 1 },
        })),
      );
      const until = Date.now() + 5000;
      while (!events.some((e) => e.type === 'error') && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
      const err = events.find((e) => e.type === 'error');
      expect(err?.roundId).toBe(8);
      expect((err?.detail as { code: string }).code).toBe('BAD_MESSAGE');
      await new Promise((r) => setTimeout(r, 100));
      expect(received.filter((r) => r.event === 'stage')).toEqual([]);
    } finally {
      agent.stop();
    }
  });

  it('a PRG other than the spec’s: SPEC_MISMATCH, and no keys are sent', async () => {
    const events: AgentEvent[] = [];
    const agent = lyingTarget(events, { spec });
    received.length = 0;
    try {
      await agent.start();
      announce(
        roundStart(agent.address, (r) => ({ ...r, group: { ...r.group, prg: 'aes-128-ctr' } })),
      );
      const until = Date.now() + 5000;
      while (!events.some((e) => e.type === 'error') && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
      const err = events.find((e) => e.type === 'error');
      expect(err?.roundId).toBe(8);
      expect((err?.detail as { code: string }).code).toBe('SPEC_MISMATCH');
      expect(String((err?.detail as { message: string }).message)).toMatch(
        /PRG aes-128-ctr, the spec says chacha20/,
      );
      await new Promise((r) => setTimeout(r, 100));
      expect(received.filter((r) => r.event === 'stage')).toEqual([]);
    } finally {
      agent.stop();
    }
  });

  it('a threshold below the spec’s: SPEC_MISMATCH, and no keys are sent', async () => {
    const events: AgentEvent[] = [];
    const wallet = Wallet.createRandom();
    const agent = lyingTarget(events, { wallet, spec });
    try {
      await agent.start();
      const members = [
        agent.address,
        ...Array.from({ length: 4 }, () => Wallet.createRandom().address),
      ];
      const q = makeQuantConfig({ clip: 1, maxClients: 5, maxWeight: 1 << 14 });
      const honest = defaultGroupParams(5);
      announce({
        roundId: 7,
        bountyId: 1,
        round: 1,
        modelVersion: 0,
        modelUrl: '/models/1/versions/0/model.json',
        group: {
          index: 0,
          members,
          threshold: 2, // an honest aggregator says honest.threshold
          neighbours: honest.neighbours,
          myId: 1,
          key: 'g0',
          round: '1:1',
          dim: 4,
          prg: 'chacha20',
        },
        quant: { clip: q.clip, scale: q.scale, maxClients: q.maxClients, maxWeight: q.maxWeight },
        train: { epochs: 1, batchSize: 1, learningRate: 0.1 },
        deadline: Date.now() + 10_000,
      });
      const until = Date.now() + 5000;
      while (!events.some((e) => e.type === 'error') && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
      const err = events.find((e) => e.type === 'error');
      expect(err?.roundId).toBe(7);
      expect((err?.detail as { code: string }).code).toBe('SPEC_MISMATCH');
      expect(String((err?.detail as { message: string }).message)).toMatch(/t = 2/);
      expect(honest.threshold).toBeGreaterThan(2);
      expect(received.filter((r) => r.event === 'stage')).toEqual([]);
    } finally {
      agent.stop();
    }
  });
});
