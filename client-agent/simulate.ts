/**
 * `npm run simulate -- --clients 10 --rounds 20 --partition shards --secure`
 * Runs the federated algorithm in one process (see simulation/federated.ts), prints the test
 * accuracy per round with a progress bar, and writes the run as JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { BUILTIN_NAMES, type BuiltinName } from './data/builtin.js';
import type { PartitionKind } from './data/partition.js';
import { initBackend, type BackendName } from './training/backend.js';
import { HyperParamsSchema } from './training/model-spec.js';
import { runFederated } from './simulation/federated.js';
import { cnnModel, prepareData, scoringEvaluator } from './simulation/setup.js';
import { makeStrategy } from './simulation/strategies.js';

async function main(argv: string[]): Promise<void> {
  const program = new Command('simulate')
    .description('In-process federated simulation on a built-in data set (no network)')
    .option('--clients <n>', 'simulated data owners', '10')
    .option('--rounds <n>', 'federated rounds', '20')
    .addOption(
      new Option('--partition <kind>', 'how data is split')
        .choices(['iid', 'dirichlet', 'shards'])
        .default('iid'),
    )
    .option('--alpha <a>', 'Dirichlet concentration (with --partition dirichlet)', '0.5')
    .option('--secure', 'aggregate each group with SecAgg+ (masked, quantized)', false)
    .addOption(new Option('--dataset <name>', 'built-in data set').choices([...BUILTIN_NAMES]))
    .option('--samples-per-client <n>', 'training samples per client', '1000')
    .option('--test-samples <n>', 'test samples for the accuracy curve', '2000')
    .option('--epochs <n>', 'local epochs per round', '1')
    .option('--batch-size <n>', 'local batch size', '32')
    .option('--lr <x>', 'local learning rate', '0.05')
    .option('--mu <x>', 'FedProx proximal weight (client side)', '0')
    .addOption(
      new Option('--strategy <name>', 'server strategy')
        .choices(['fedavg', 'fedprox', 'fedadam', 'fedyogi'])
        .default('fedavg'),
    )
    .option('--clip <x>', 'L2 clipping bound of each update', '10')
    .option('--min-group-size <n>', 'smallest secure-aggregation group', '3')
    .option('--score <n>', 'score contributions with group Shapley on n validation samples', '0')
    .option('--seed <n>', 'seed for data split, initial weights, batches and groups', '1')
    .addOption(
      new Option('--backend <name>', 'force a tfjs backend').choices(['tensorflow', 'wasm', 'cpu']),
    )
    .option('--out <file>', 'where to write the JSON record', 'simulation-result.json')
    .parse(argv);
  const o = program.opts<Record<string, string | boolean | undefined>>();
  const int = (k: string) => Number.parseInt(String(o[k]), 10);
  const num = (k: string) => Number(o[k]);

  const backend = await initBackend(o['backend'] ? { prefer: [o['backend'] as BackendName] } : {});
  const hyper = HyperParamsSchema.parse({
    localEpochs: int('epochs'),
    batchSize: int('batchSize'),
    learningRate: num('lr'),
    fedProxMu: num('mu'),
  });
  const seed = int('seed');
  const data = await prepareData({
    dataset: o['dataset'] as BuiltinName | undefined,
    clients: int('clients'),
    samplesPerClient: int('samplesPerClient'),
    partition: o['partition'] as PartitionKind,
    alpha: num('alpha'),
    testSamples: int('testSamples'),
    validationSamples: int('score'),
    seed,
  });
  const { architecture, initial } = await cnnModel(seed);
  const evaluator =
    int('score') > 0 ? await scoringEvaluator(architecture, data.validation) : undefined;
  const rounds = int('rounds');
  console.error(
    `${data.dataset}: ${data.clients.length} clients x ${int('samplesPerClient')} samples, ${o['partition']} split, ` +
      `${o['secure'] ? 'SecAgg+' : 'plaintext'} aggregation, ${o['strategy']}, ${rounds} rounds`,
  );
  const bar = new cliProgress.SingleBar(
    {
      format: 'round {value}/{total} [{bar}] test acc {acc}  ({round_s}s/round)',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(rounds, 0, { acc: '-', round_s: '-' });
  const lines: string[] = [];
  const started = Date.now();
  const result = await runFederated({
    clients: data.clients,
    test: data.test,
    architecture,
    initialWeights: initial,
    hyper,
    strategy: makeStrategy(String(o['strategy']), hyper.fedProxMu),
    rounds,
    secure: Boolean(o['secure']),
    clip: num('clip'),
    minGroupSize: int('minGroupSize'),
    seed,
    ...(evaluator ? { scoring: { validation: data.validation, evaluator } } : {}),
    onRound: (r) => {
      const s = r.trainSeconds + r.aggregateSeconds + r.scoreSeconds;
      const acc = r.test ? (100 * r.test.accuracy).toFixed(2) + '%' : '-';
      lines.push(`round ${r.round}: test accuracy ${acc}, loss ${r.test?.loss.toFixed(4) ?? '-'}`);
      bar.update(r.round, { acc, round_s: s.toFixed(1) });
    },
  });
  bar.stop();
  evaluator?.dispose();
  for (const l of lines) console.log(l);
  const out = String(o['out']);
  mkdirSync(dirname(out), { recursive: true });
  const estimates = result.estimates
    ? Object.fromEntries(
        Object.entries(result.estimates).map(([m, est]) => [
          m,
          Object.fromEntries([...est].map(([id, e]) => [id, e.mean])),
        ]),
      )
    : undefined;
  writeFileSync(
    out,
    JSON.stringify(
      {
        config: { ...o, backend, dataset: data.dataset },
        seconds: (Date.now() - started) / 1000,
        final: result.final,
        rounds: result.rounds,
        ...(estimates ? { estimates } : {}),
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`final test accuracy ${(100 * result.final.accuracy).toFixed(2)}%; wrote ${out}`);
}

main(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
