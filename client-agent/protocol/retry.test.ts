/**
 * An aggregator that is briefly unwell (restarting, overloaded): the first model downloads answer
 * 503 and the first stage message gets `INTERNAL`. The real agent retries both and goes on; a
 * refusal (any other code) is not retried. The aggregator is a real HTTP + Socket.IO server on
 * loopback.
 */
import { Wallet } from 'ethers';
import { defaultGroupParams, makeQuantConfig } from '../../aggregation/index.js';
import { ProtocolAgent, type AgentEvent, type RoundStart } from './index.js';
import { startTestAggregator, type TestAggregator } from './test-aggregator.js';

describe('an agent rides out a briefly unwell aggregator', () => {
  let unwell: TestAggregator;
  let url: string;
  let modelFailures = 2;
  let modelRequests = 0;
  let stageReply: { error: { code: string; message: string } } | null = null;
  const stages: string[] = [];
  let announce: (start: RoundStart) => void = () => undefined;

  beforeAll(async () => {
    unwell = await startTestAggregator({
      route: (req, res) => {
        if (!req.url?.startsWith('/models/')) return false;
        modelRequests++;
        if (modelFailures > 0) {
          if (req.url.endsWith('model.json')) modelFailures--;
          res.statusCode = 503;
        } else if (req.url.endsWith('weights.bin')) {
          res.write(Buffer.alloc(12));
        } else {
          res.setHeader('content-type', 'application/json');
          res.write('{"modelTopology":{}}');
        }
        res.end();
        return true;
      },
    });
    url = unwell.url;
    unwell.io.of('/agents').on('connection', (socket) => {
      socket.on('join', (_b: unknown, ack: (r: unknown) => void) => ack({ ok: true }));
      socket.on('stage', (b: { stage: string }, ack: (r: unknown) => void) => {
        stages.push(b.stage);
        const reply = stageReply;
        stageReply = null;
        ack(reply ?? { ok: true });
      });
      announce = (start) => socket.emit('round', start);
    });
  });
  afterAll(async () => {
    await unwell.close();
  });

  function roundStart(address: string, roundId: number): RoundStart {
    const members = [address, ...Array.from({ length: 4 }, () => Wallet.createRandom().address)];
    const q = makeQuantConfig({ clip: 1, maxClients: 5, maxWeight: 1 << 14 });
    return {
      roundId,
      bountyId: 1,
      round: roundId,
      modelVersion: 0,
      modelUrl: '/models/1/versions/0/model.json',
      group: {
        index: 0,
        members,
        ...defaultGroupParams(5),
        myId: 1,
        key: 'g0',
        round: `1:${roundId}`,
        dim: 4,
        prg: 'chacha20',
      },
      quant: { clip: q.clip, scale: q.scale, maxClients: q.maxClients, maxWeight: q.maxWeight },
      train: { epochs: 1, batchSize: 1, learningRate: 0.1 },
      deadline: Date.now() + 30_000,
    };
  }

  async function until(pred: () => boolean, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('retries the model download after 503s and a stage message after INTERNAL', async () => {
    const events: AgentEvent[] = [];
    let trained = 0;
    const agent = new ProtocolAgent({
      serverUrl: url,
      wallet: Wallet.createRandom() as unknown as Wallet,
      bountyId: 1,
      reconnect: false,
      train: async () => {
        trained++;
        return { delta: new Float32Array(3), samples: 1 };
      },
      onEvent: (e) => events.push(e),
    });
    try {
      await agent.start();
      stageReply = { error: { code: 'INTERNAL', message: 'internal error' } };
      announce(roundStart(agent.address, 3));
      await until(() => events.some((e) => e.type === 'sent' && e.stage === 'keys') && trained > 0);
      // The keys went twice (INTERNAL, then accepted); the model after two 503 answers.
      expect(stages.filter((s) => s === 'keys')).toHaveLength(2);
      expect(modelRequests).toBeGreaterThanOrEqual(6);
      expect(trained).toBe(1);
      expect(events.filter((e) => e.type === 'error')).toEqual([]);
    } finally {
      agent.stop();
    }
  });

  it('a refusal is final: the stage message is not sent again', async () => {
    const events: AgentEvent[] = [];
    const agent = new ProtocolAgent({
      serverUrl: url,
      wallet: Wallet.createRandom() as unknown as Wallet,
      bountyId: 1,
      reconnect: false,
      train: async () => ({ delta: new Float32Array(3), samples: 1 }),
      onEvent: (e) => events.push(e),
    });
    try {
      await agent.start();
      stages.length = 0;
      stageReply = { error: { code: 'STAGE_CLOSED', message: 'stage keys is closed' } };
      announce(roundStart(agent.address, 4));
      await until(() => events.some((e) => e.type === 'error'));
      expect((events.find((e) => e.type === 'error')?.detail as { code: string }).code).toBe(
        'STAGE_CLOSED',
      );
      expect(stages).toEqual(['keys']);
    } finally {
      agent.stop();
    }
  });
});
