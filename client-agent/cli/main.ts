/**
 * The `tributary` command line: `bounty`, `join`, `model`, `audit`, `claim`, `demo`, `wallet`,
 * `deploy`. `run` is the whole program as a function (tests call it in process); it returns the
 * exit code: 0 success, 1 a failed check or operation, 2 bad input. Errors print as
 * `error [CODE]: message` (or `{ "error": { code, message } }` with --json), never as a stack.
 */
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { auditCommand } from './audit.js';
import { bountyCommand } from './bounty.js';
import { claimCommand } from './claim.js';
import { demoCommand } from './demo.js';
import { deployCommand } from './deploy.js';
import { CliError, toCliError } from './errors.js';
import { processIo, toJson, type Io } from './io.js';
import { joinCommand } from './join.js';
import { modelCommand } from './model.js';
import { walletCommand } from './wallet.js';

export function program(io: Io): Command {
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
  for (const c of [
    bountyCommand(io),
    joinCommand(io),
    modelCommand(io),
    auditCommand(io),
    claimCommand(io),
    demoCommand(io, run),
    walletCommand(io),
    deployCommand(io),
  ]) {
    p.addCommand(c);
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
    await program(io).parseAsync([...argv], { from: 'user' });
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
