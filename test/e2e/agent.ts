/**
 * One data owner's agent as its own process (used by the e2e test): loads its share of the MNIST
 * digits, signs in, joins the bounty and trains with the client-agent trainer whenever a round
 * asks. Reports events as JSON lines on stdout. Configured by environment variables.
 */
import { Wallet } from 'ethers';
import {
  Trainer,
  initBackend,
  loadMnistDigits,
  makeDataset,
  mulberry32,
  partition,
  subset,
} from '../../client-agent/index.js';
import { ProtocolAgent } from '../../client-agent/protocol/index.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

async function main(): Promise<void> {
  const index = Number(env('AGENT_INDEX'));
  const agents = Number(env('AGENT_COUNT'));
  const perAgent = Number(process.env.AGENT_SAMPLES ?? '600');
  await initBackend({ log: null });
  const { train } = await loadMnistDigits();
  const flat = makeDataset(train.x, train.y, [784], 10);
  // Different data per agent: a Dirichlet split by label (alpha 1), the same in every process.
  const parts = partition('dirichlet', flat.y, agents, mulberry32(42), { alpha: 1 });
  const mine = subset(flat, parts[index]!.slice(0, perAgent));
  let trainer: Trainer | undefined;
  let calls = 0;
  const agent = new ProtocolAgent({
    serverUrl: env('SERVER_URL'),
    wallet: new Wallet(env('AGENT_KEY')),
    bountyId: Number(env('BOUNTY_ID')),
    reconnect: true,
    async train({ round, weights, modelJson }) {
      // A slow machine in one round (the e2e kills this agent while it trains).
      if (round.round === Number(process.env.AGENT_SLOW_ROUND ?? 0))
        await new Promise((r) => setTimeout(r, 5000));
      trainer ??= await Trainer.create(
        (modelJson as { modelTopology: Record<string, unknown> }).modelTopology,
      );
      const r = await trainer.train(
        weights,
        mine,
        {
          localEpochs: round.train.epochs,
          batchSize: round.train.batchSize,
          learningRate: round.train.learningRate,
          fedProxMu: 0,
        },
        1000 * index + calls++,
      );
      return { delta: r.delta, samples: r.numSamples };
    },
    onEvent: (e) => out({ ...e, detail: e.type === 'joined' ? undefined : e.detail }),
  });
  out({ type: 'ready', samples: mine.y.length });
  await agent.start();
  process.once('SIGTERM', () => {
    agent.stop();
    process.exit(0);
  });
}

main().catch((err: unknown) => {
  out({ type: 'fatal', detail: String(err) });
  process.exit(1);
});
