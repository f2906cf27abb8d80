/**
 * The `tributary` command line: `bounty`, `join`, `model`, `audit`, `claim`, `demo`, `wallet`,
 * `deploy`. `run` is the whole program as a function (tests call it in process); it returns the
 * exit code: 0 success, 1 a failed check or operation, 2 bad input. Errors print as
 * `error [CODE]: message` (or `{ "error": { code, message } }` with --json), never as a stack.
 */
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { processIo, toJson, type Io } from './io.js';

type Runner = (argv: string[], io: Io) => Promise<number>;

/**
 * The commands, each loaded only when named: a command's module brings ethers, tfjs, Socket.IO
 * and the protocol with it, and `tributary --help` (or a typo) should not pay for all of them.
 */
const COMMANDS: {
  name: string;
  summary: string;
  load: () => Promise<(io: Io, run: Runner) => Command>;
}[] = [
  {
    name: 'bounty',
    summary: 'sponsor, list and inspect bounties',
    load: async () => (await import('./bounty.js')).bountyCommand,
  },
  {
    name: 'join',
    summary: 'join a bounty with your data: local training, masked updates, rewards on chain',
    load: async () => (await import('./join.js')).joinCommand,
  },
  {
    name: 'model',
    summary: 'download and verify published models',
    load: async () => (await import('./model.js')).modelCommand,
  },
  {
    name: 'audit',
    summary: 're-derive every reward from the published scoring record and compare with the chain',
    load: async () => (await import('./audit.js')).auditCommand,
  },
  {
    name: 'claim',
    summary:
      'claim every unclaimed reward of the wallet in a bounty (Merkle proofs from the events)',
    load: async () => (await import('./claim.js')).claimCommand,
  },
  {
    name: 'demo',
    summary:
      'start a local chain, the aggregator and a few agents, and walk one bounty through every journey',
    load: async () => (await import('./demo.js')).demoCommand,
  },
  {
    name: 'wallet',
    summary: 'create or inspect a wallet (encrypted keystore)',
    load: async () => (await import('./wallet.js')).walletCommand,
  },
  {
    name: 'deploy',
    summary: 'deploy the Tributary contracts and write a deployment file',
    load: async () => (await import('./deploy.js')).deployCommand,
  },
];

/**
 * The command `argv` names: its first word that is neither an option nor an option's value
 * (`help <command>` names the command).
 */
function commandOf(argv: readonly string[], valued: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (valued.includes(a)) i++;
    else if (!a.startsWith('-') && a !== 'help') return a;
  }
  return undefined;
}

/** The program with the command `argv` names loaded; the others are listed by name for help. */
export async function program(io: Io, argv: readonly string[] = []): Promise<Command> {
  const p = new Command('tributary')
    .description('Tributary: federated learning with secure aggregation, rewards on chain')
    .option('--json', 'machine-readable output (one JSON document on stdout)')
    .option('--server <url>', 'aggregator URL (env TRIBUTARY_SERVER)')
    .option('--rpc <url>', 'chain JSON-RPC URL (env CHAIN_RPC_URL)')
    .option(
      '--contracts <json|file>',
      'contract addresses {token,bounties,registry} (env CONTRACT_ADDRESSES)',
    )
    .option(
      '--deployment <file>',
      'deployment file written by deploy or demo (env TRIBUTARY_DEPLOYMENT)',
    )
    .option('--from-block <n>', 'first block to scan for events')
    .option(
      '--key <hex>',
      'private key (prefer env TRIBUTARY_KEY: a flag shows in the process list)',
    )
    .option(
      '--keystore <file>',
      'encrypted JSON keystore (env TRIBUTARY_KEYSTORE; password from TRIBUTARY_KEYSTORE_PASSWORD)',
    )
    .option('--password-file <file>', 'file holding the keystore password')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  // Global options that take a value (so that the value is not taken for the command's name).
  const valued = p.options.filter((o) => o.required || o.optional).map((o) => o.long ?? '');
  const named = commandOf(argv, valued);
  for (const c of COMMANDS) {
    const cmd = c.name === named ? (await c.load())(io, run) : new Command(c.name);
    p.addCommand(cmd.description(c.summary));
  }
  // Subcommands inherit the output and the exit override.
  const wire = (c: Command) => {
    c.exitOverride().configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
    });
    c.commands.forEach(wire);
  };
  p.commands.forEach(wire);
  return p;
}

export async function run(argv: readonly string[], io: Io = processIo): Promise<number> {
  const json = argv.includes('--json');
  try {
    await (await program(io, argv)).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return 0;
      if (json)
        io.stdout(
          toJson({ error: { code: 'USAGE', message: err.message.replace(/^error: /, '') } }) + '\n',
        );
      return 2;
    }
    const { CliError, toCliError } = await import('./errors.js');
    const e = toCliError(err);
    if (io.env['TRIBUTARY_DEBUG'] && err instanceof Error) io.stderr(`${err.stack}\n`);
    const reported = e instanceof CliError && e.detail?.['reported'] === true;
    if (json) {
      if (!reported)
        io.stdout(
          toJson({ error: { code: e.code, message: e.message, ...(e.detail ?? {}) } }) + '\n',
        );
    } else io.stderr(`error [${e.code}]: ${e.message}\n`);
    return e.exitCode;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const code = await run(process.argv.slice(2));
  // Sockets, providers and tfjs may hold the event loop; the command is done.
  process.exit(code);
}
