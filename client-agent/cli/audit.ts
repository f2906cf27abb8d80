/**
 * `tributary audit <bounty>`: the I/O around the pure audit of client-agent/audit (which the web
 * app's Audit page runs too): reads the recorded rounds from the chain and the scoring record from
 * the aggregator, a file or a URL, runs `auditBounty`, prints a table per round and client and the
 * findings, and exits 1 on any.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { AuditError, auditBounty, parseRecord, recordFromListing } from '../audit/index.js';
import type { ScoringRecord } from '../audit/index.js';
import { tokenDecimals } from './bounty.js';
import {
  getJson,
  parseBountyId,
  request,
  requireBounty,
  showTokens,
  withContext,
  type Context,
  type GlobalOptions,
} from './context.js';
import { CliError, fail } from './errors.js';
import { table, toJson, type Io } from './io.js';
import { replayAudit } from './replay.js';

export {
  auditBounty,
  type AuditReport,
  type AuditRow,
  type Finding,
  type FindingKind,
} from '../audit/index.js';

/** The audit's own failures as the CLI's (same code, exit 2). */
function asCliError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof AuditError) throw new CliError(e.code, e.message);
    throw e;
  }
}

/**
 * Loads the record from a file or URL in the documented format, or, by default, from the
 * aggregator's round listing (`GET /bounties/:id/rounds`).
 */
export async function loadRecord(
  ctx: Context,
  id: bigint,
  source?: string,
  onChain: ReadonlySet<number> = new Set(),
): Promise<{ record: ScoringRecord; pending: number }> {
  if (source && !/^https?:\/\//.test(source)) {
    const text = await readFile(source, 'utf8').catch(() =>
      fail('BAD_ARGUMENT', `cannot read the record file ${source}`),
    );
    return { record: asCliError(() => parseRecord(text, id)), pending: 0 };
  }
  if (source) {
    const text = await (await request('', source)).text();
    return { record: asCliError(() => parseRecord(text, id)), pending: 0 };
  }
  if (!ctx.server) {
    return fail(
      'RECORD_UNAVAILABLE',
      'the audit needs the scoring record: pass --server <url> or --record <file|url>',
    );
  }
  const listing = await getJson<unknown>(ctx.server, `/bounties/${id}/rounds`).catch(
    (e: unknown) => {
      if (e instanceof CliError && e.code === 'SERVER_UNSUPPORTED') {
        fail(
          'RECORD_UNAVAILABLE',
          `the server does not publish round records (GET /bounties/${id}/rounds); pass --record <file|url>`,
        );
      }
      if (e instanceof CliError && e.code === 'NOT_FOUND')
        fail('UNKNOWN_BOUNTY', `the server does not run bounty ${id}`);
      throw e;
    },
  );
  return asCliError(() => recordFromListing(id, listing, onChain));
}

interface AuditOptions {
  record?: string;
  saveRecord?: string;
  replay?: boolean;
  validation?: string;
}

async function audit(ctx: Context, idText: string, o: AuditOptions): Promise<void> {
  const id = parseBountyId(idText);
  const b = await requireBounty(ctx, id);
  const chain = await ctx.contracts.bounties.recordedRounds(id, undefined, {
    fromBlock: ctx.fromBlock,
  });
  const { record, pending } = await loadRecord(
    ctx,
    id,
    o.record,
    new Set(chain.map((r) => Number(r.round))),
  );
  if (o.saveRecord) await writeFile(o.saveRecord, JSON.stringify(record, null, 2) + '\n');
  const rewards = asCliError(() => auditBounty(id, b.roundBudget, chain, record));
  const replay =
    o.replay || o.validation ? await replayAudit(ctx, id, record.rounds, o.validation) : undefined;
  const report = {
    ...rewards,
    pass: rewards.pass && (replay?.pass ?? true),
    pending,
    ...(replay ? { replay } : {}),
  };
  const decimals = await tokenDecimals(ctx.provider, b.token);
  if (ctx.json) ctx.io.stdout(toJson(report) + '\n');
  else {
    if (report.rows.length > 0) {
      ctx.io.stdout(
        table(
          [
            'round',
            'client',
            'group',
            'weight',
            'score (chain)',
            'score (derived)',
            'reward (chain)',
            'reward (derived)',
            'commitment',
            'result',
          ],
          report.rows.map((r) => [
            r.round,
            r.client,
            r.group,
            r.weight,
            r.scoreOnChain,
            r.scoreDerived,
            r.rewardOnChain === null ? null : showTokens(r.rewardOnChain, decimals),
            r.rewardDerived === null ? null : showTokens(r.rewardDerived, decimals),
            r.commitment,
            r.pass ? 'pass' : 'FAIL',
          ]),
        ),
      );
    }
    for (const f of report.findings) ctx.io.stdout(`FAIL ${f.kind}: ${f.message}\n`);
    if (replay) {
      for (const f of replay.findings) ctx.io.stdout(`FAIL ${f.kind}: ${f.message}\n`);
      ctx.io.stdout(
        `${replay.pass ? 'PASS' : 'FAIL'} replay: ${replay.rounds} rounds, ${replay.versionsChecked} model versions re-derived from the group aggregates, ${replay.utilitiesChecked} utilities re-measured${o.validation ? '' : ' (pass --validation to re-measure utilities)'}\n`,
      );
    }
    ctx.io.stdout(
      `${report.pass ? 'PASS' : 'FAIL'}: bounty ${id}, ${report.roundsOnChain} rounds on chain, ${report.roundsInRecord} in the record, ${report.contributions} contributions, ${report.findings.length} findings${report.pending ? `; ${report.pending} scored round(s) not yet on chain, not audited` : ''}\n`,
    );
  }
  if (!report.pass) {
    const all = [...report.findings, ...(replay?.findings ?? [])];
    const first = all[0]!;
    throw new CliError('AUDIT_FAILED', `${all.length} finding(s); first: ${first.message}`, {
      reported: true,
    });
  }
}

export function auditCommand(io: Io): Command {
  return new Command('audit')
    .argument('<bounty>', 'bounty id')
    .option(
      '--record <file|url>',
      'scoring record (default: from the server, GET /bounties/<id>/rounds)',
    )
    .option('--save-record <file>', 'write the scoring record that was audited (documented format)')
    .option(
      '--replay',
      "also replay training from the group aggregates (the sponsor's or a licence holder's wallet) and check every model version's hash on chain",
    )
    .option(
      '--validation <data>',
      'with --replay: the validation set (as given to bounty create) to re-measure every coalition utility',
    )
    .action(async (id: string, o: AuditOptions, c: Command) =>
      withContext(c.optsWithGlobals() as GlobalOptions, io, (ctx) => audit(ctx, id, o)),
    );
}
