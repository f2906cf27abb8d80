/**
 * Web benchmark: the web app in Debian's chromium (playwright-core) against a real aggregator,
 * PostgreSQL, Redis and anvil, with six agents running SecAgg+ rounds (training replaced by an
 * 800 ms wait, so that a stage outlasts the page's update period).
 *
 * - live_update_ms_p95: from a round's state change on the server (the timestamp in its `timing`,
 *   same machine, same clock) to the bounty page showing it (a MutationObserver in the page), over
 *   every state change the page shows during the rounds; target 500 ms.
 * - bundle_kb_gzip: what the first page load fetches (index.html, its entry script and CSS),
 *   gzip-compressed (zlib level 9); bundle_all_kb_gzip every asset, audit_chunk_kb_gzip the code
 *   the Audit page loads on first use.
 * - first_load_ms: a fresh browser context (cold cache) until the catalogue shows the bounty's
 *   card, median of the repeats.
 * - browser_audit_vs_cli: the same bounty and the same record (pasted into the Audit page; given
 *   to `parseRecord` in Node): time of the browser's audit (chain reads over JSON-RPC, parsing,
 *   `auditBounty`) / time of the Node audit as `tributary audit` runs it (getBounty and
 *   recordedRounds through ethers, parsing, `auditBounty`), paired per repeat, median ratio;
 *   browser_scoring_vs_node the same for parsing and `auditBounty` alone (no chain reads).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { auditBounty, parseRecord, recordFromListing } from '../../client-agent/audit/index.js';
import { ProtocolAgent } from '../../client-agent/protocol/index.js';
import type { RunningServer } from '../../server/app.js';
import type { Chain } from '../../server/chain/chain.service.js';
import {
  denseSpec,
  joinOnChain,
  sponsorBounty,
  startTestChain,
  startTestServer,
  stopTestServer,
  syntheticTask,
} from '../../server/test/harness.js';
import type { BenchOptions, BenchResult } from './run.js';

const here = dirname(fileURLToPath(import.meta.url));
const WEB = join(here, '..', '..', 'web');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const INPUTS = 20;
const CLASSES = 4;
const PARAMS = INPUTS * CLASSES + CLASSES;
const AGENTS = 6;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
};
const round1 = (x: number, d = 1) => Number(x.toFixed(d));

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined | false>) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** gzip sizes of the build: the first load (index.html's script and CSS), everything, the audit chunk. */
function bundleSizes(): { first: number; all: number; audit: number } {
  const dist = join(WEB, 'dist');
  const gz = (file: string) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const entry = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map(
    (m) => m[1]!,
  );
  const assets = readdirSync(join(dist, 'assets')).filter((f) => /\.(js|css)$/.test(f));
  const auditChunk = assets.find((f) => f.startsWith('audit-run-'));
  return {
    first: gz('index.html') + entry.reduce((s, f) => s + gz(f), 0),
    all: gz('index.html') + assets.reduce((s, f) => s + gz(join('assets', f)), 0),
    audit: auditChunk ? gz(join('assets', auditChunk)) : NaN,
  };
}

/** An update that moves the kernel towards the task's class blocks (the loss goes down). */
function usefulDelta(i: number): Float32Array {
  return Float32Array.from({ length: PARAMS }, (_, k) => {
    if (k >= INPUTS * CLASSES) return 0;
    const [j, c] = [Math.floor(k / CLASSES), k % CLASSES];
    return Math.floor(j / (INPUTS / CLASSES)) === c ? 0.3 + 0.05 * i : -0.02;
  });
}

export async function run({ quick }: BenchOptions): Promise<BenchResult> {
  const rounds = quick ? 2 : 4;
  const repeats = quick ? 3 : 9;
  await build({ configFile: join(WEB, 'vite.config.ts'), logLevel: 'warn' });
  const sizes = bundleSizes();

  let chain: Chain | undefined;
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  const agents: ProtocolAgent[] = [];
  const consoleErrors: string[] = [];
  try {
    [chain, browser] = await Promise.all([
      startTestChain(20),
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
    ]);
    server = await startTestServer(chain, {
      stageTimeoutsMs: { keys: 5000, shares: 5000, masked: 8000, unmask: 5000 },
      gatherMs: 300,
    });
    const { bountyId } = await sponsorBounty(server, chain, {
      sponsorKey: chain.keys![1]!,
      spec: denseSpec(INPUTS, CLASSES, { minParticipants: AGENTS }),
      weights: new Float32Array(PARAMS),
      validation: syntheticTask(INPUTS, CLASSES, 400, 7),
      budget: 6_000_000n,
      rounds,
      minParticipants: 3,
    });
    const b = browser;
    const url = server.url;
    const open = async (path: string): Promise<Page> => {
      const ctx = await b.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await ctx.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(`${path}: ${m.text()}`);
      });
      page.on('pageerror', (e) => consoleErrors.push(`${path}: ${e.message}`));
      await page.goto(`${url}${path}`);
      return page;
    };

    // Live updates: the bounty page records when it shows each (round, state).
    const live = await open(`/bounty/${bountyId}`);
    await live.locator('.badge.live-live').waitFor();
    await live.evaluate(`(() => {
      window.__shownAt = {};
      const rec = () => {
        const el = document.querySelector('.live');
        const v = el && el.dataset.round + ':' + el.dataset.state;
        if (v && !(v in window.__shownAt)) window.__shownAt[v] = Date.now();
      };
      new MutationObserver(rec).observe(document.body, {
        subtree: true, childList: true, attributes: true, attributeFilter: ['data-state', 'data-round'],
      });
    })()`);
    for (let i = 0; i < AGENTS; i++) {
      const wallet = await joinOnChain(chain, chain.keys![2 + i]!, bountyId);
      const delta = usefulDelta(i);
      const agent = new ProtocolAgent({
        serverUrl: url,
        wallet,
        bountyId,
        reconnect: true,
        train: async () => {
          await new Promise((r) => setTimeout(r, 800));
          return { delta, samples: 10 * (i + 1) };
        },
      });
      agents.push(agent);
      await agent.start();
    }
    type Row = {
      number: number;
      ledgerRound: number | null;
      state: string;
      timing: Record<string, number>;
    };
    const listing = async () =>
      (await (await fetch(`${url}/bounties/${bountyId}/rounds`)).json()) as Row[];
    await until('every round settled', 60_000 * rounds, async () => {
      const rows = await listing();
      return rows.filter((r) => r.state === 'settled').length >= rounds;
    });
    await until('the page to show the last round settled', 10_000, async () =>
      Object.keys((await live.evaluate('window.__shownAt')) as object).includes(
        `${rounds}:settled`,
      ),
    );
    const shownAt = (await live.evaluate('window.__shownAt')) as Record<string, number>;
    const timings = await listing();
    const lags = Object.entries(shownAt)
      .map(([k, t]) => {
        const [n, state] = k.split(':');
        const at = timings.find((r) => r.number === Number(n))?.timing[state!];
        return at === undefined ? undefined : t - at;
      })
      .filter((x): x is number => x !== undefined);
    await live.context().close();

    // First load of the catalogue, cold cache each time.
    const loads: number[] = [];
    for (let k = 0; k < repeats; k++) {
      const ctx = await b.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await ctx.newPage();
      page.on('pageerror', (e) => consoleErrors.push(`/: ${e.message}`));
      const t0 = Date.now();
      await page.goto(`${url}/`);
      await page.locator(`article.card[data-bounty="${bountyId}"]`).waitFor();
      loads.push(Date.now() - t0);
      await ctx.close();
    }

    // The audit, browser and Node, same chain, same record, paired per repeat.
    const id = BigInt(bountyId);
    const onChainNow = await chain.contracts.bounties.recordedRounds(id);
    const { record } = recordFromListing(
      id,
      await listing(),
      new Set(onChainNow.map((r) => Number(r.round))),
    );
    const text = JSON.stringify(record);
    const audit = await open(`/bounty/${bountyId}/audit`);
    await audit.locator('.verdict[data-verdict="pass"]').waitFor({ timeout: 30_000 });
    await audit.getByLabel(/a record of my own/).check();
    await audit.locator('textarea[name="record"]').fill(text);
    const browserMs: number[] = [];
    const nodeMs: number[] = [];
    const ratios: number[] = [];
    const computeRatios: number[] = [];
    let contributions = 0;
    for (let k = 0; k < repeats + 1; k++) {
      await audit.getByRole('button', { name: 'Run the audit' }).click();
      // Run 1 was the page's own audit of the published record.
      const v = audit.locator(`.verdict[data-run="${k + 2}"]`);
      await v.waitFor({ timeout: 30_000 });
      if ((await v.getAttribute('data-verdict')) !== 'pass')
        throw new Error('browser audit did not pass');
      const tb = Number(await v.getAttribute('data-total-ms'));
      // Parsing the record and auditBounty: the total less the chain reads.
      const cb = tb - Number(await v.getAttribute('data-chain-ms'));

      const t0 = performance.now();
      const bounty = await chain.contracts.bounties.getBounty(id);
      const chainRounds = await chain.contracts.bounties.recordedRounds(id);
      const t1 = performance.now();
      const report = auditBounty(id, bounty.roundBudget, chainRounds, parseRecord(text, id));
      const tn = performance.now() - t0;
      const cn = performance.now() - t1;
      if (!report.pass) throw new Error('Node audit did not pass');
      contributions = report.contributions;
      if (k === 0) continue; // warm-up: both sides' first run compiles and caches
      browserMs.push(tb);
      nodeMs.push(tn);
      ratios.push(tb / tn);
      computeRatios.push(cb / cn);
    }
    await audit.context().close();

    return {
      rounds,
      agents: AGENTS,
      live_updates: lags.length,
      live_update_ms_p50: round1(median(lags), 0),
      live_update_ms_p95: round1(percentile(lags, 0.95), 0),
      live_update_ms_max: Math.max(...lags),
      bundle_kb_gzip: round1(sizes.first / 1024),
      bundle_all_kb_gzip: round1(sizes.all / 1024),
      audit_chunk_kb_gzip: round1(sizes.audit / 1024),
      first_load_ms: round1(median(loads), 0),
      audit_contributions: contributions,
      browser_audit_ms: round1(median(browserMs)),
      cli_audit_ms: round1(median(nodeMs)),
      browser_audit_vs_cli: round1(median(ratios), 3),
      browser_scoring_vs_node: round1(median(computeRatios), 3),
      console_errors: consoleErrors.length,
    };
  } finally {
    for (const a of agents) a.stop();
    await browser?.close();
    if (server) await stopTestServer(server);
    await chain?.stop!();
  }
}
