/**
 * All state survives a restart: the server is stopped in the middle of a round (keys shared,
 * agents still training) and a new instance on the same database and Redis carries the round to
 * its end; agents reconnect, sign in again and resume.
 */
import { Wallet } from 'ethers';
import { ProtocolAgent } from '../../client-agent/protocol/index.js';
import { startServer, type RunningServer } from '../app.js';
import type { Chain } from '../chain/chain.service.js';
import { dropSchema } from '../db/datasource.js';
import { ModelVersion, Round } from '../db/entities.js';
import { freePort } from '../infra/embedded.js';
import {
  denseSpec,
  joinOnChain,
  sponsorBounty,
  startTestChain,
  syntheticTask,
  testConfig,
  waitFor,
} from '../test/harness.js';

const INPUTS = 12;
const CLASSES = 3;
const PARAMS = INPUTS * CLASSES + CLASSES;

describe('restart in the middle of a round', () => {
  let chain: Chain;
  const agents: ProtocolAgent[] = [];
  let a: RunningServer | undefined;
  let b: RunningServer | undefined;

  afterAll(async () => {
    for (const x of agents) x.stop();
    await a?.close().catch(() => undefined);
    await b?.close();
    await dropSchema(b!.config.databaseUrl!, b!.config.dbSchema);
    await chain.stop!();
  });

  it('a second instance finishes the round the first one started', async () => {
    chain = await startTestChain();
    const config = testConfig({
      port: await freePort(),
      stageTimeoutsMs: { keys: 10_000, shares: 10_000, masked: 20_000, unmask: 10_000 },
    });
    const logger = process.env.TEST_LOG ? undefined : (['error'] as const);
    a = await startServer(config, { chain, logger: logger ? [...logger] : undefined });
    const { bountyId } = await sponsorBounty(a, chain, {
      sponsorKey: chain.keys![1]!,
      spec: denseSpec(INPUTS, CLASSES),
      weights: new Float32Array(PARAMS),
      validation: syntheticTask(INPUTS, CLASSES, 100, 3),
      budget: 1_000_000n,
      rounds: 1,
      minParticipants: 3,
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    for (let i = 0; i < 6; i++) {
      const wallet = await joinOnChain(chain, chain.keys![2 + i]!, bountyId);
      const agent = new ProtocolAgent({
        serverUrl: a.url,
        wallet: wallet as unknown as Wallet,
        bountyId,
        reconnect: true,
        train: async () => {
          await gate;
          return { delta: new Float32Array(PARAMS).fill(0.01 * (i + 1)), samples: 5 };
        },
      });
      agents.push(agent);
      await agent.start();
    }
    // Keys and shares done; every agent is "training".
    await waitFor(
      async () =>
        (await a!.ds.getRepository(Round).findOneBy({ bountyId, number: 1 }))?.state === 'masked',
    );
    await a.close();
    a = undefined;
    b = await startServer(config, { chain, logger: logger ? [...logger] : undefined });
    release();
    await waitFor(
      async () => (await b!.ds.getRepository(ModelVersion).countBy({ bountyId })) === 2,
    );
    const round = await b.ds.getRepository(Round).findOneByOrFail({ bountyId, number: 1 });
    expect(['aggregated', 'scored', 'settled']).toContain(round.state);
    const v1 = await b.ds.getRepository(ModelVersion).findOneByOrFail({ bountyId, version: 1 });
    const w = new Float32Array(new Uint8Array(v1.weights).buffer);
    // Equal weights: the mean of 0.01 * (1..6) = 0.035.
    expect(w[0]).toBeCloseTo(0.035, 3);
  });
});
