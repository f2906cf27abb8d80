import { Wallet } from 'ethers';
import { ProtocolAgent, type AgentEvent } from '../../client-agent/protocol/index.js';
import type { RunningServer } from '../app.js';
import { ModelVersion, Participant, Round, RoundGroup } from '../db/entities.js';
import { denseSpec, seedBounty, startTestServer, stopTestServer } from '../test/harness.js';

const INPUTS = 20;
const CLASSES = 4;
const PARAMS = INPUTS * CLASSES + CLASSES;

function waitFor(pred: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      pred().then((ok) => {
        if (ok) resolve();
        else if (Date.now() > until) reject(new Error('timed out'));
        else setTimeout(tick, 100);
      }, reject);
    };
    tick();
  });
}

describe('a round over Socket.IO', () => {
  let server: RunningServer;
  const agents: ProtocolAgent[] = [];

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const a of agents) a.stop();
    await stopTestServer(server);
  });

  it('six agents in two groups produce the plaintext weighted mean update', async () => {
    await seedBounty(server, 1, denseSpec(INPUTS, CLASSES), new Float32Array(PARAMS));
    const updates = new Map<string, { delta: Float32Array; samples: number }>();
    const events: AgentEvent[] = [];
    for (let i = 0; i < 6; i++) {
      const wallet = Wallet.createRandom() as unknown as Wallet;
      const delta = Float32Array.from({ length: PARAMS }, (_, k) => ((i + 1) * (k % 7)) / 100);
      const samples = 10 * (i + 1);
      updates.set(wallet.address, { delta, samples });
      const agent = new ProtocolAgent({
        serverUrl: server.url,
        wallet,
        bountyId: 1,
        reconnect: false,
        train: async () => ({ delta, samples }),
        onEvent: (e) => {
          events.push(e);
          if (process.env.TEST_LOG && e.type === 'error') console.log(JSON.stringify(e));
        },
      });
      agents.push(agent);
      await agent.start();
    }
    await waitFor(
      async () => (await server.ds.getRepository(ModelVersion).countBy({ bountyId: 1 })) === 2,
    ).catch(async (e) => {
      console.log(
        JSON.stringify(events),
        await server.ds.query('select id, state, timing from round'),
        await server.ds.query('select address, progress from participant'),
      );
      throw e;
    });
    const round = await server.ds.getRepository(Round).findOneByOrFail({ bountyId: 1, number: 1 });
    expect(['aggregated', 'scored', 'settled']).toContain(round.state);
    const groups = await server.ds.getRepository(RoundGroup).findBy({ roundId: round.id });
    expect(groups).toHaveLength(2);
    expect(groups.every((g) => g.state === 'aggregated' && g.members.length === 3)).toBe(true);
    const v1 = await server.ds
      .getRepository(ModelVersion)
      .findOneByOrFail({ bountyId: 1, version: 1 });
    const w = new Float32Array(new Uint8Array(v1.weights).buffer);
    let total = 0;
    const expected = new Float32Array(PARAMS);
    for (const { delta, samples } of updates.values()) {
      total += samples;
      for (let k = 0; k < expected.length; k++) expected[k]! += delta[k]! * samples;
    }
    for (let k = 0; k < expected.length; k++) expect(w[k]).toBeCloseTo(expected[k]! / total, 3);
    const ps = await server.ds.getRepository(Participant).findBy({ roundId: round.id });
    expect(ps.every((p) => p.progress === 'unmask')).toBe(true);
    // Masked inputs are gone once aggregated.
    const [{ n }] = await server.ds.query(
      `SELECT count(*)::int AS n FROM stage_message WHERE stage = 'masked'`,
    );
    expect(n).toBe(0);
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
  });
});
