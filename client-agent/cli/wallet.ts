/**
 * The user's wallet: `--key` (or `TRIBUTARY_KEY`) holding a hex private key, or `--keystore` naming
 * an encrypted ethers/Web3 Secret Storage JSON file whose password comes from
 * `TRIBUTARY_KEYSTORE_PASSWORD` or `--password-file`. A private key is never printed, not even in
 * an error message.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Wallet, type Provider } from 'ethers';
import { Command } from 'commander';
import { fail } from './errors.js';
import { fields, processIo, toJson, type Io } from './io.js';

export interface WalletOptions {
  key?: string;
  keystore?: string;
  passwordFile?: string;
}

/** Reads a line from the terminal without echoing it; undefined when stdin is not a terminal. */
function promptHidden(question: string): Promise<string | undefined> {
  const stdin = process.stdin;
  if (!stdin.isTTY || !process.stderr.isTTY) return Promise.resolve(undefined);
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve) => {
    let typed = '';
    const done = (value: string | undefined) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      resolve(value);
    };
    const onData = (chunk: string) => {
      for (const c of chunk) {
        if (c === '\r' || c === '\n' || c === '\u0004') return done(typed);
        if (c === '\u0003') return done(undefined); // Ctrl-C
        typed = c === '\u007f' || c === '\b' ? typed.slice(0, -1) : typed + c;
      }
    };
    stdin.on('data', onData);
  });
}

async function readPassword(opts: WalletOptions, io: Io): Promise<string> {
  if (opts.passwordFile) return (await readFile(opts.passwordFile, 'utf8')).replace(/\r?\n$/, '');
  const p = io.env['TRIBUTARY_KEYSTORE_PASSWORD'];
  if (p !== undefined) return p;
  const typed = io === processIo ? await promptHidden('keystore password: ') : undefined;
  if (typed !== undefined) return typed;
  return fail(
    'NO_WALLET',
    'the keystore needs a password: type it at a terminal, set TRIBUTARY_KEYSTORE_PASSWORD or pass --password-file',
  );
}

/** The wallet, or undefined when none is configured. */
export async function maybeWallet(
  opts: WalletOptions,
  io: Io,
  provider?: Provider,
): Promise<Wallet | undefined> {
  const key = opts.key ?? io.env['TRIBUTARY_KEY'];
  const keystore = opts.keystore ?? io.env['TRIBUTARY_KEYSTORE'];
  let wallet: Wallet;
  if (key !== undefined && key !== '') {
    const hex = key.trim().startsWith('0x') ? key.trim() : `0x${key.trim()}`;
    if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) {
      return fail('BAD_KEY', 'the private key must be 32 bytes of hex (64 hex digits)');
    }
    try {
      wallet = new Wallet(hex);
    } catch {
      return fail('BAD_KEY', 'the private key is not a valid secp256k1 key');
    }
  } else if (keystore !== undefined && keystore !== '') {
    let json: string;
    try {
      json = await readFile(keystore, 'utf8');
    } catch {
      return fail('BAD_KEY', `cannot read the keystore file ${keystore}`);
    }
    const password = await readPassword(opts, io);
    try {
      wallet = (await Wallet.fromEncryptedJson(json, password)) as Wallet;
    } catch (e) {
      const why = /password/i.test(String((e as Error)?.message))
        ? 'wrong password'
        : 'not a keystore file';
      return fail('BAD_KEY', `cannot decrypt ${keystore}: ${why}`);
    }
  } else {
    return undefined;
  }
  return provider ? wallet.connect(provider) : wallet;
}

/** The wallet; fails with NO_WALLET when none is configured. */
export async function requireWallet(
  opts: WalletOptions,
  io: Io,
  provider?: Provider,
  why = 'this command signs transactions',
): Promise<Wallet> {
  const w = await maybeWallet(opts, io, provider);
  if (!w) {
    return fail(
      'NO_WALLET',
      `${why}: pass --key, set TRIBUTARY_KEY, or pass --keystore <file> (encrypted JSON)`,
    );
  }
  return w;
}

/** `tributary wallet new|address`. */
export function walletCommand(io: Io): Command {
  const cmd = new Command('wallet');
  cmd
    .command('new')
    .description('create a new wallet and write it as an encrypted JSON keystore')
    .requiredOption('--out <file>', 'keystore file to write (never overwritten)')
    .action(async (opts: { out: string }, c: Command) => {
      const g = c.optsWithGlobals() as WalletOptions & { json?: boolean };
      const password = await readPassword(g, io);
      if (password.length < 8)
        fail('BAD_ARGUMENT', 'use a keystore password of at least 8 characters');
      const w = Wallet.createRandom();
      const json = await w.encrypt(password);
      try {
        await writeFile(opts.out, json, { flag: 'wx', mode: 0o600 });
      } catch {
        fail('BAD_ARGUMENT', `cannot create ${opts.out} (does it exist already?)`);
      }
      if (g.json) io.stdout(toJson({ address: w.address, keystore: opts.out }) + '\n');
      else
        io.stdout(
          fields([
            ['address', w.address],
            ['keystore', opts.out],
          ]),
        );
    });
  cmd
    .command('address')
    .description("print the configured wallet's address")
    .action(async (_o: unknown, c: Command) => {
      const g = c.optsWithGlobals() as WalletOptions & { json?: boolean };
      const w = await requireWallet(g, io, undefined, 'no wallet configured');
      io.stdout(g.json ? toJson({ address: w.address }) + '\n' : `${w.address}\n`);
    });
  return cmd;
}
