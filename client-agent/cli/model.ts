/**
 * `tributary model download|verify|versions`: the model user's journey. The files come from the
 * aggregator (or the version's on-chain uri, or `--from`), but trust comes from the chain: the
 * artifact hash of model.json + weights must equal the one the registry holds for that version,
 * and the licence is checked on chain before anything is written: held, claimed by a
 * contributor with one of its rewarded contributions (leaf + proof rebuilt from the events), or
 * bought with `--buy`.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Command } from 'commander';
import { LicenceKind, RewardToken } from '../../contracts/index.js';
import { tokenDecimals } from './bounty.js';
import {
  parseBountyId,
  parseCount,
  request,
  requireBounty,
  showTokens,
  withContext,
  type Context,
  type GlobalOptions,
} from './context.js';
import { fail } from './errors.js';
import { fields, progress, table, toJson, type Io } from './io.js';
import { modelArtifactHash } from './spec.js';
import { maybeWallet } from './wallet.js';
import { downloadMessage } from '../protocol/index.js';
import type { Wallet } from 'ethers';

interface ModelFiles {
  modelJson: Buffer;
  /** Weight files in manifest order: [relative path, bytes]. */
  weights: [string, Buffer][];
}

function manifestPaths(modelJson: Buffer): string[] {
  let doc: { weightsManifest?: { paths?: unknown }[] };
  try {
    doc = JSON.parse(modelJson.toString('utf8')) as typeof doc;
  } catch {
    return fail('HASH_MISMATCH', 'model.json is not JSON (the file is corrupt or tampered with)');
  }
  const paths = (doc.weightsManifest ?? []).flatMap((g) => (Array.isArray(g.paths) ? g.paths : []));
  if (paths.length === 0 || !paths.every((p): p is string => typeof p === 'string')) {
    return fail('HASH_MISMATCH', 'model.json has no weights manifest');
  }
  for (const p of paths) {
    if (isAbsolute(p) || p.split(/[\\/]/).includes('..'))
      fail('HASH_MISMATCH', `model.json names an unsafe weights path ${p}`);
  }
  return paths;
}

async function fetchBytes(
  url: string,
  headers: Record<string, string>,
  onBytes: (n: number, total: number) => void,
): Promise<Buffer> {
  const res = await request('', url, { headers });
  const total = Number(res.headers.get('content-length') ?? 0);
  if (!res.body) return Buffer.from(await res.arrayBuffer());
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(Buffer.from(chunk));
    got += chunk.byteLength;
    onBytes(got, total);
  }
  return Buffer.concat(chunks);
}

/**
 * Signed download headers for the aggregator's licensed model routes: the wallet signs
 * (EIP-191) the protocol's download message for this bounty and version.
 */
export async function downloadHeaders(
  wallet: Wallet | undefined,
  id: bigint,
  version: bigint,
): Promise<Record<string, string>> {
  if (!wallet) return {};
  const expiry = Math.floor(Date.now() / 1000) + 30; // the server takes at most 60 s
  const signature = await wallet.signMessage(downloadMessage(Number(id), Number(version), expiry));
  return {
    'x-tributary-address': wallet.address,
    'x-tributary-expiry': String(expiry),
    'x-tributary-signature': signature,
  };
}

async function readFiles(
  source: string,
  io: Io,
  json: boolean,
  headers: Record<string, string> = {},
): Promise<ModelFiles> {
  if (/^https?:\/\//.test(source)) {
    const base = source.endsWith('model.json')
      ? source
      : `${source.replace(/\/+$/, '')}/model.json`;
    const bar = progress(io, json);
    bar.start(1, 'model.json');
    try {
      const modelJson = await fetchBytes(base, headers, () => undefined);
      const weights: [string, Buffer][] = [];
      for (const p of manifestPaths(modelJson)) {
        const bytes = await fetchBytes(new URL(p, base).toString(), headers, (n, total) => {
          if (total > 0) {
            bar.start(total, p);
            bar.update(n);
          }
        });
        weights.push([p, bytes]);
      }
      return { modelJson, weights };
    } finally {
      bar.stop();
    }
  }
  const dir = source.endsWith('model.json') ? dirname(source) : source;
  const modelJson = await readFile(join(dir, 'model.json'));
  const weights: [string, Buffer][] = [];
  for (const p of manifestPaths(modelJson)) weights.push([p, await readFile(join(dir, p))]);
  return { modelJson, weights };
}

function hashOf(files: ModelFiles): string {
  return modelArtifactHash(files.modelJson, Buffer.concat(files.weights.map(([, b]) => b)));
}

async function onChainVersion(ctx: Context, id: bigint, versionText?: string) {
  await requireBounty(ctx, id);
  const latest = await ctx.contracts.registry.latestVersion(id);
  const version = versionText === undefined ? latest : BigInt(parseCount(versionText, '--version'));
  if (latest === 0n) fail('NO_MODEL', `bounty ${id} has no published model version yet`);
  if (version > latest) fail('NO_MODEL', `bounty ${id} has versions 1..${latest}, not ${version}`);
  const v = await ctx.contracts.registry.getVersion(id, version);
  return { version, ...v };
}

async function checkLicence(
  ctx: Context,
  id: bigint,
  buy: boolean,
  wallet: Wallet | undefined,
): Promise<string> {
  const terms = await ctx.contracts.registry.licenceTerms(id);
  if (terms.kind === LicenceKind.Open) return 'open';
  if (!wallet) {
    return fail(
      'NO_LICENCE',
      `bounty ${id}'s model is licensed (${terms.kind === LicenceKind.Paid ? 'paid' : 'contributors only'}): pass --key or --keystore of a licensed wallet`,
    );
  }
  if (await ctx.contracts.registry.hasLicence(id, wallet.address))
    return `held by ${wallet.address}`;
  // A contributor that earned a reward proves it once on chain; joining alone licenses nothing.
  const claimed = await ctx.contracts.registry
    .connect(wallet)
    .claimContributorLicenceFor(id, wallet.address, { fromBlock: ctx.fromBlock });
  if (claimed) {
    const { round, index } = claimed.leaf;
    return `claimed by ${wallet.address} as a contributor (round ${round}, contribution ${index})`;
  }
  if (terms.kind !== LicenceKind.Paid) {
    return fail(
      'NO_LICENCE',
      `${wallet.address} holds no licence: bounty ${id}'s model is for its sponsor and its contributors who earned a reward`,
    );
  }
  const decimals = await tokenDecimals(ctx.provider, terms.token);
  if (!buy) {
    return fail(
      'NO_LICENCE',
      `${wallet.address} holds no licence; the price is ${showTokens(terms.price, decimals)} tokens: rerun with --buy`,
    );
  }
  const token = new RewardToken(terms.token, wallet);
  const have = await token.balanceOf(wallet.address);
  if (have < terms.price) {
    fail(
      'INSUFFICIENT_FUNDS',
      `${wallet.address} holds ${showTokens(have, decimals)} tokens, the licence costs ${showTokens(terms.price, decimals)}`,
    );
  }
  if ((await token.allowance(wallet.address, ctx.contracts.registry.address)) < terms.price) {
    await token.approve(ctx.contracts.registry.address, terms.price);
  }
  const { amount } = await ctx.contracts.registry.connect(wallet).buyLicence(id);
  return `bought by ${wallet.address} for ${showTokens(amount, decimals)}`;
}

interface DownloadOptions {
  version?: string;
  out?: string;
  from?: string;
  buy?: boolean;
}

async function download(ctx: Context, idText: string, o: DownloadOptions): Promise<void> {
  const id = parseBountyId(idText);
  const v = await onChainVersion(ctx, id, o.version);
  const wallet = await maybeWallet(ctx.opts, ctx.io, ctx.provider);
  const licence = await checkLicence(ctx, id, Boolean(o.buy), wallet);
  // The on-chain uri may be absolute, or a path on the aggregator.
  const source =
    o.from ??
    (/^https?:\/\//.test(v.uri)
      ? v.uri
      : ctx.server
        ? `${ctx.server}${v.uri.startsWith('/') ? v.uri : `/models/${id}/versions/${v.version}/model.json`}`
        : fail(
            'NO_SERVER',
            `version ${v.version}'s uri "${v.uri}" is not a URL: pass --server <url> or --from <url|dir>`,
          ));
  const headers = await downloadHeaders(wallet, id, v.version);
  const files = await readFiles(source, ctx.io, ctx.json, headers);
  const hash = hashOf(files);
  if (hash !== v.artifactHash) {
    fail(
      'HASH_MISMATCH',
      `the files from ${source} hash to ${hash}, the chain holds ${v.artifactHash} for bounty ${id} version ${v.version}: refusing them`,
      {
        expected: v.artifactHash,
        actual: hash,
      },
    );
  }
  const out = resolve(o.out ?? `model-${id}-v${v.version}`);
  // Written to a sibling directory first so that a failure never leaves half a model behind.
  const tmp = `${out}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, 'model.json'), files.modelJson);
  for (const [p, b] of files.weights) {
    await mkdir(dirname(join(tmp, p)), { recursive: true });
    await writeFile(join(tmp, p), b);
  }
  await rm(out, { recursive: true, force: true });
  await rename(tmp, out);
  const bytes = files.modelJson.length + files.weights.reduce((s, [, b]) => s + b.length, 0);
  const result = {
    bountyId: id,
    version: v.version,
    dir: out,
    artifactHash: hash,
    verified: true,
    licence,
    bytes,
    source,
  };
  if (ctx.json) ctx.io.stdout(toJson(result) + '\n');
  else
    ctx.io.stdout(
      fields([
        ['bounty', id],
        ['version', v.version],
        ['written to', out],
        ['artifact hash', `${hash} (matches the chain)`],
        ['licence', licence],
        ['bytes', bytes],
      ]) + `load it with tf.loadLayersModel('file://${join(out, 'model.json')}')\n`,
    );
}

async function verify(
  ctx: Context,
  idText: string,
  dir: string,
  o: { version?: string },
): Promise<void> {
  const id = parseBountyId(idText);
  const v = await onChainVersion(ctx, id, o.version);
  const hash = hashOf(await readFiles(dir, ctx.io, ctx.json));
  if (hash !== v.artifactHash) {
    fail(
      'HASH_MISMATCH',
      `${dir} hashes to ${hash}, the chain holds ${v.artifactHash} for bounty ${id} version ${v.version}`,
      { expected: v.artifactHash, actual: hash },
    );
  }
  const result = { bountyId: id, version: v.version, dir, artifactHash: hash, verified: true };
  ctx.io.stdout(
    ctx.json
      ? toJson(result) + '\n'
      : `${dir}: matches bounty ${id} version ${v.version} (${hash})\n`,
  );
}

async function versions(ctx: Context, idText: string): Promise<void> {
  const id = parseBountyId(idText);
  await requireBounty(ctx, id);
  const latest = await ctx.contracts.registry.latestVersion(id);
  const rows = [];
  for (let n = 1n; n <= latest; n++) {
    const v = await ctx.contracts.registry.getVersion(id, n);
    rows.push({ version: n, ...v, rating: v.ratingCount ? v.ratingSum / v.ratingCount : null });
  }
  if (ctx.json) ctx.io.stdout(toJson(rows) + '\n');
  else if (rows.length === 0) ctx.io.stdout(`bounty ${id} has no published model version yet\n`);
  else
    ctx.io.stdout(
      table(
        ['version', 'published', 'artifact hash', 'rating', 'uri'],
        rows.map((r) => [
          r.version,
          new Date(Number(r.publishedAt) * 1000).toISOString(),
          r.artifactHash,
          r.rating === null ? null : r.rating.toFixed(1),
          r.uri,
        ]),
      ),
    );
}

export function modelCommand(io: Io): Command {
  const cmd = new Command('model');
  const g = (c: Command) => c.optsWithGlobals() as GlobalOptions;
  cmd
    .command('download <bounty>')
    .description(
      'download a model version; its hash is checked against the chain and the licence on chain (a rewarded contributor claims its own)',
    )
    .option('--version <n>', 'version (default: the latest)')
    .option(
      '--out <dir>',
      'directory to write model.json and the weights to (default model-<bounty>-v<n>)',
    )
    .option(
      '--from <url|dir>',
      'where to fetch the files (default: the on-chain uri, else the server)',
    )
    .option('--buy', 'buy a paid licence when the wallet holds none and earned no reward')
    .action(async (id: string, o: DownloadOptions, c: Command) =>
      withContext(g(c), io, (ctx) => download(ctx, id, o)),
    );
  cmd
    .command('verify <bounty> <dir>')
    .description('check model files on disk against the hash on chain')
    .option('--version <n>', 'version (default: the latest)')
    .action(async (id: string, dir: string, o: { version?: string }, c: Command) =>
      withContext(g(c), io, (ctx) => verify(ctx, id, dir, o)),
    );
  cmd
    .command('versions <bounty>')
    .description('the versions published on chain')
    .action(async (id: string, _o: unknown, c: Command) =>
      withContext(g(c), io, (ctx) => versions(ctx, id)),
    );
  return cmd;
}
