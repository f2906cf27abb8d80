/**
 * The web app in a real browser (Debian's chromium driven by playwright-core) against a real
 * aggregator, PostgreSQL, Redis and anvil: six in-process agents run two SecAgg+ rounds while the
 * bounty page is open; the page must show the round advance live, the chart gain a point per scored
 * round, the contributors and model versions the REST routes list; the catalogue filters, the
 * contributor page is reached by keyboard; the Audit page re-derives every reward in the browser
 * from the chain's events and passes, and fails naming the round and the field on a record with one
 * utility changed; nothing is logged to the console as an error.
 * Screenshots go to test/artifacts/web/.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Wallet } from 'ethers';
import { chromium, type Browser, type Page } from 'playwright-core';
import { io } from 'socket.io-client';
import { auditBounty, recordFromListing } from '../../client-agent/audit/index.js';
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

const here = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = join(here, '..', 'artifacts', 'web');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const INPUTS = 20;
const CLASSES = 4;
const PARAMS = INPUTS * CLASSES + CLASSES;
const AGENTS = 6;

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined | false>) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An update that moves the kernel towards the task's class blocks (so the loss goes down). */
function usefulDelta(i: number): Float32Array {
  return Float32Array.from({ length: PARAMS }, (_, k) => {
    if (k >= INPUTS * CLASSES) return 0;
    const [j, c] = [Math.floor(k / CLASSES), k % CLASSES];
    return Math.floor(j / (INPUTS / CLASSES)) === c ? 0.3 + 0.05 * i : -0.02;
  });
}

describe('e2e: the web app during a live round', () => {
  let chain: Chain;
  let server: RunningServer;
  let browser: Browser;
  const agents: ProtocolAgent[] = [];
  const consoleErrors: string[] = [];
  let bountyId: number;
  let sponsor: Wallet;

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [chain, browser] = await Promise.all([
      startTestChain(20),
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
    ]);
    server = await startTestServer(chain, {
      stageTimeoutsMs: { keys: 5000, shares: 5000, masked: 8000, unmask: 5000 },
      gatherMs: 300,
    });
    ({ bountyId, sponsor } = await sponsorBounty(server, chain, {
      sponsorKey: chain.keys![1]!,
      spec: denseSpec(INPUTS, CLASSES, { minParticipants: AGENTS }),
      weights: new Float32Array(PARAMS),
      validation: syntheticTask(INPUTS, CLASSES, 400, 7),
      budget: 6_000_000n,
      rounds: 2,
      minParticipants: 3,
    }));
  });

  afterAll(async () => {
    for (const a of agents) a.stop();
    await browser?.close();
    if (server) await stopTestServer(server);
    await chain?.stop!();
  });

  async function openPage(path: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${path}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${path}: ${e.message}`));
    await page.goto(`${server.url}${path}`);
    return page;
  }

  it('serves the app at / with a fallback that leaves the REST routes and /docs alone', async () => {
    const html = await fetch(`${server.url}/bounty/${bountyId}`, {
      headers: { accept: 'text/html' },
    });
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    const page = await html.text();
    expect(page).toContain('<div id="app">');
    const json = await fetch(`${server.url}/bounties/${bountyId}`, {
      headers: { accept: 'text/html' },
    });
    expect(json.headers.get('content-type')).toMatch(/application\/json/);
    expect(((await json.json()) as { id: number }).id).toBe(bountyId);
    const unknownApi = await fetch(`${server.url}/models/abc`, {
      headers: { accept: 'text/html' },
    });
    expect(unknownApi.status).toBe(400);
    expect(unknownApi.headers.get('content-type')).toMatch(/json/);
    expect((await fetch(`${server.url}/assets/missing.js`)).status).toBe(404);
    // Nothing outside web/dist is served, however the path is spelled.
    for (const p of ['/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/%E0%A4%A']) {
      const res = await fetch(`${server.url}${p}`);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('"devDependencies"');
    }
    const asset = page.match(/\/assets\/index-[\w-]+\.js/)?.[0];
    expect(asset).toBeDefined();
    const js = await fetch(`${server.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');

    const doc = (await (await fetch(`${server.url}/docs/json`)).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: {
              content: Record<string, { schema: { properties: Record<string, unknown> } }>;
            };
          }
        >
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    for (const p of [
      '/bounties',
      '/bounties/{id}/rounds',
      '/bounties/{id}/contributors',
      '/models/{bountyId}',
      '/chain',
      '/auth/challenge',
    ])
      expect(doc.paths[p]).toBeDefined();
    const body = doc.paths['/bounties']!.post!.requestBody!.content['application/json']!.schema;
    expect(Object.keys(body.properties)).toEqual(
      expect.arrayContaining(['id', 'spec', 'validation', 'initialWeights']),
    );
    const ui = await fetch(`${server.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('/watch answers a watcher with the latest rounds and refuses a malformed request', async () => {
    const socket = io(`${server.url}/watch`, { transports: ['websocket'], reconnection: false });
    try {
      const bad = (await socket.emitWithAck('watch', { bountyId: 'one' })) as {
        error?: { code: string };
      };
      expect(bad.error?.code).toBe('BAD_REQUEST');
      const ok = (await socket.emitWithAck('watch', { bountyId })) as {
        ok: boolean;
        rounds: unknown[];
      };
      expect(ok).toEqual({ ok: true, rounds: [] });
    } finally {
      socket.disconnect();
    }
  });

  it('the bounty page follows two rounds live: stages advance, the chart gains points', async () => {
    const page = await openPage(`/bounty/${bountyId}`);
    await page.getByRole('heading', { level: 1, name: `Bounty #${bountyId}` }).waitFor();
    await page.locator('.badge.live-live').waitFor();
    await shot(page, 'bounty-before-round');
    expect(await page.locator('.chart').count()).toBe(0);
    // Every (round, state) the live panel renders, in order, recorded in the page itself.
    await page.evaluate(`(() => {
      window.__states = [];
      window.__shownAt = {};
      const rec = () => {
        const el = document.querySelector('.live');
        const v = el && el.dataset.round + ':' + el.dataset.state;
        if (v && window.__states[window.__states.length - 1] !== v) {
          window.__states.push(v);
          window.__shownAt[v] = Date.now();
        }
      };
      new MutationObserver(rec).observe(document.body, {
        subtree: true, childList: true, attributes: true, attributeFilter: ['data-state', 'data-round'],
      });
    })()`);

    for (let i = 0; i < AGENTS; i++) {
      const wallet = await joinOnChain(chain, chain.keys![2 + i]!, bountyId);
      const delta = usefulDelta(i);
      const agent = new ProtocolAgent({
        serverUrl: server.url,
        wallet,
        bountyId,
        reconnect: true,
        // Local training takes a while, so that a stage outlasts the page's 250 ms update period.
        train: async () => {
          await new Promise((r) => setTimeout(r, 800));
          return { delta, samples: 10 * (i + 1) };
        },
      });
      agents.push(agent);
      await agent.start();
    }

    // The page learns of the rounds from the socket, without a reload: the chart gains a point as
    // each round is scored, and the live panel walks through the stages.
    let shotRunning = false;
    await until('round 1 to be scored on the page', 45_000, async () => {
      const s = await page
        .locator('.live')
        .getAttribute('data-state', { timeout: 100 })
        .catch(() => null);
      if (s && !shotRunning && ['keys', 'shares', 'masked', 'confirm', 'unmask'].includes(s)) {
        shotRunning = true;
        await shot(page, 'bounty-round-running');
      }
      return (await page.locator('.chart[data-points="2"]').count()) > 0;
    });
    await shot(page, 'bounty-round-1');
    await until(
      'round 2 to be scored on the page',
      45_000,
      async () => (await page.locator('.chart[data-points="3"]').count()) > 0,
    );
    // uPlot (loaded with the first chart) has drawn all three points on its canvas.
    await page.locator('.chart[data-drawn="3"] canvas').waitFor();
    // Beside the loss it scores by, the aggregator measures each published version's accuracy.
    await page.locator('.chart-accuracy[data-drawn="3"] canvas').waitFor();
    const accRows = await page
      .locator('.chart-accuracy + figcaption details table tbody tr td:nth-child(2)')
      .allTextContents();
    expect(accRows).toHaveLength(3);
    for (const a of accRows) expect(Number(a)).toBeGreaterThanOrEqual(0);
    for (const a of accRows) expect(Number(a)).toBeLessThanOrEqual(1);
    await until('round 2 to be settled on the page', 30_000, async () =>
      (await page.locator('table.rounds tbody tr').first().textContent())?.includes('settled'),
    );
    await until('the live panel to show round 2 settled', 10_000, async () =>
      ((await page.evaluate('window.__states')) as string[]).includes('2:settled'),
    );
    const states = (await page.evaluate('window.__states')) as string[];
    console.log(`web: live panel showed ${states.join(' ')}`);
    const order = [
      'keys',
      'shares',
      'masked',
      'confirm',
      'unmask',
      'aggregated',
      'scored',
      'settled',
    ];
    for (const n of ['1', '2']) {
      const seen = states.filter((x) => x.startsWith(`${n}:`)).map((x) => x.split(':')[1]!);
      // Training outlasts an update period, so each round shows at least two states, in order (not
      // every state: scoring the previous round shares the server's event loop with the poll).
      expect(seen.length).toBeGreaterThanOrEqual(2);
      const at = seen.map((x) => order.indexOf(x));
      expect(at.every((k) => k >= 0)).toBe(true);
      expect([...at].sort((x, y) => x - y)).toEqual(at);
    }

    // From a state change on the server (its timestamp in the round's timing) to the page showing
    // it (same machine, same clock): the issue's target is 500 ms at p95; asserted loosely here.
    const shownAt = (await page.evaluate('window.__shownAt')) as Record<string, number>;
    const timings = (await (await fetch(`${server.url}/bounties/${bountyId}/rounds`)).json()) as {
      number: number;
      timing: Record<string, number>;
    }[];
    const lags = Object.entries(shownAt)
      .map(([k, t]) => {
        const [n, state] = k.split(':');
        const at = timings.find((r) => r.number === Number(n))?.timing[state!];
        return at === undefined ? undefined : t - at;
      })
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);
    expect(lags.length).toBe(states.length);
    const p95 = lags[Math.min(lags.length - 1, Math.ceil(0.95 * lags.length) - 1)]!;
    console.log(`web: live update lag ${lags.join(' ')} ms (p95 ${p95} ms)`);
    expect(lags[0]!).toBeGreaterThanOrEqual(0);
    expect(p95).toBeLessThan(2000);

    // The chart's points are the REST listing's full-coalition utilities (loss = -utility).
    const rounds = (await (await fetch(`${server.url}/bounties/${bountyId}/rounds`)).json()) as {
      ledgerRound: number | null;
      scoring: { record: { utilities: number[] } } | null;
    }[];
    const scored = rounds.filter((r) => r.ledgerRound !== null && r.scoring);
    expect(scored).toHaveLength(2);
    const table = await page
      .locator('.chart + figcaption details table tbody tr td:nth-child(2)')
      .allTextContents();
    const losses = [
      -scored[0]!.scoring!.record.utilities[0]!,
      ...scored.map((r) => -r.scoring!.record.utilities.at(-1)!),
    ];
    expect(table).toEqual(losses.map((l) => l.toFixed(4)));
    expect(losses[2]!).toBeLessThan(losses[0]!);

    // Contributors and versions as the REST routes list them.
    expect(await page.locator('table.contributors tbody tr').count()).toBe(AGENTS);
    const versions = (await (await fetch(`${server.url}/models/${bountyId}`)).json()) as {
      hash: string;
    }[];
    expect(versions).toHaveLength(3);
    const shownHashes = await page
      .locator('table.versions tbody code')
      .evaluateAll((els) => els.map((e) => e.getAttribute('title')));
    expect(shownHashes).toEqual(versions.map((v) => v.hash).reverse());
    const link = page.locator('table.versions a', { hasText: 'model.json' }).first();
    expect(await link.getAttribute('href')).toBe(`/models/${bountyId}/versions/2/model.json`);
    await shot(page, 'bounty-settled');
    await page.screenshot({
      path: join(ARTIFACTS, 'bounty-top.png'),
      fullPage: true,
      clip: { x: 0, y: 0, width: 1280, height: 1150 },
    });

    // Keyboard: the first Tab reaches the skip link, which shows a focus ring.
    await page.keyboard.press('Tab');
    // (Page-side code as strings: the Node tsconfig has no DOM types.)
    const focused = (await page.evaluate(
      `(() => { const el = document.activeElement; const r = el.getBoundingClientRect();
        return { text: el.textContent, outline: getComputedStyle(el).outlineStyle, left: r.left }; })()`,
    )) as { text: string; outline: string; left: number };
    expect(focused.text).toBe('Skip to content');
    expect(focused.outline).not.toBe('none');
    expect(focused.left).toBeGreaterThanOrEqual(0);

    // A contributor's page by keyboard from the table.
    const first = page.locator('table.contributors tbody a').first();
    const address = (await first.getAttribute('href'))!.split('/').pop()!;
    await first.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: /Contributor/ }).waitFor();
    expect(page.url()).toBe(`${server.url}/contributor/${address}`);
    await until(
      'the contributor rounds',
      10_000,
      async () => (await page.locator('table.contributor-rounds tbody tr').count()) === 2,
    );
    const summed = await page
      .locator('table.contributor-rounds tbody td:nth-child(4)')
      .allTextContents();
    expect(summed).toEqual(['yes', 'yes']);
    expect(await page.evaluate('document.activeElement.tagName')).toBe('H1');
    await shot(page, 'contributor');

    // The bounty page on a phone-sized screen, and the API docs.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: `Bounty #${bountyId}` }).waitFor();
    await page.locator('.chart[data-points="3"]').waitFor();
    await shot(page, 'bounty-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'bounty-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(`${server.url}/docs`);
    await page.getByText('/bounties/{id}/rounds').first().waitFor();
    await shot(page, 'docs');
    await page.close();
  }, 120_000);

  it('the catalogue lists the bounty as a card; search narrows it', async () => {
    // The sponsor (a licence holder) rates the latest version on chain: the card reads it there.
    await chain.contracts.registry.connect(sponsor).rate(BigInt(bountyId), 2, 4);
    const t0 = Date.now();
    const page = await openPage('/');
    const card = page.locator(`article.card[data-bounty="${bountyId}"]`);
    await card.waitFor();
    // Reported, not asserted: a fresh page until the catalogue's cards are drawn.
    console.log(`web: first load of the catalogue ${Date.now() - t0} ms`);
    expect(await card.textContent()).toContain('2 of 2');
    expect(await card.textContent()).toContain('contributors only');
    expect(await card.locator('dt:text-is("contributors") + dd').textContent()).toBe(
      String(AGENTS),
    );
    expect(await card.getByLabel('rated 4.0 of 5 by 1').count()).toBe(1);
    await shot(page, 'catalogue');
    await page.getByLabel('Search').fill('no-such-bounty');
    expect(await page.locator('article.card').count()).toBe(0);
    await page.getByLabel('Search').fill(`#${bountyId}`);
    expect(await page.locator('article.card').count()).toBe(1);
    await page.getByLabel('Licence').selectOption('open');
    expect(await page.locator('article.card').count()).toBe(0);
    await page.getByLabel('Licence').selectOption('all');
    await card.getByRole('link').click();
    await page.getByRole('heading', { level: 1, name: `Bounty #${bountyId}` }).waitFor();
    await page.close();
  });

  it('the audit page re-derives every reward in the browser: PASS, and FAIL on a tampered record', async () => {
    // The build's audit code has no Node built-ins (aggregation/prg.ts's node:crypto stays out, and
    // so do spec.ts's Buffer encodings). tfjs's own chunk (the Sponsor page's, loaded on use) is
    // left out: it reaches Buffer only behind its `typeof Buffer !== 'undefined'` platform check.
    const dist = join(here, '..', '..', 'web', 'dist', 'assets');
    for (const f of readdirSync(dist).filter((x) => x.endsWith('.js') && !x.startsWith('tfjs-'))) {
      const js = readFileSync(join(dist, f), 'utf8');
      expect([
        f,
        /browser-external|from ?"node:|(^|[^.\w])Buffer\.(from|alloc|concat)/.test(js),
      ]).toEqual([f, false]);
    }
    const listing = (await (await fetch(`${server.url}/bounties/${bountyId}/rounds`)).json()) as {
      state: string;
    }[];
    expect(listing.filter((r) => r.state === 'settled')).toHaveLength(2);

    // The bounty page states the verdict too.
    const page = await openPage(`/bounty/${bountyId}`);
    await page.locator('.audit-status[data-verdict="pass"]').waitFor({ timeout: 20_000 });
    await page.getByRole('link', { name: 're-derive every reward in your browser' }).click();
    await page.getByRole('heading', { level: 1, name: `Audit of bounty #${bountyId}` }).waitFor();
    expect(page.url()).toBe(`${server.url}/bounty/${bountyId}/audit`);
    const verdict = page.locator('.verdict[data-verdict]');
    await verdict.waitFor({ timeout: 20_000 });
    expect(await verdict.getAttribute('data-verdict')).toBe('pass');
    expect(await page.inputValue('input[name="rpc"]')).toBe(chain.url);

    // The same audit in Node over the same chain and record: the page shows its rows and amounts.
    const id = BigInt(bountyId);
    const b = await chain.contracts.bounties.getBounty(id);
    const onChain = await chain.contracts.bounties.recordedRounds(id);
    const { record } = recordFromListing(id, listing, new Set(onChain.map((r) => Number(r.round))));
    const node = auditBounty(id, b.roundBudget, onChain, record);
    expect(node.pass).toBe(true);
    const rows = page.locator('table.audit tbody tr');
    expect(await rows.count()).toBe(node.rows.length);
    expect(node.rows.length).toBe(2 * AGENTS);
    expect(await page.locator('table.audit tbody tr[data-pass="false"]').count()).toBe(0);
    const first = node.rows[0]!;
    const row = page.locator(
      `section.audit-round[data-round="${first.round}"] tr[data-client="${first.client}"]`,
    );
    // A round pays less than one token here (6 000 000 units over two rounds): shown in units.
    const cells = await row.locator('td').allTextContents();
    expect(first.rewardOnChain! > 0n).toBe(true);
    expect(cells[4]).toBe(new Intl.NumberFormat('en').format(first.rewardOnChain!));
    expect(cells[5]).toBe(cells[4]);
    expect(cells[6]).toBe('bound');
    await shot(page, 'audit-pass');

    // One utility of round 1 changed: the commitments on chain name round 1 and `utilities`.
    const tampered = structuredClone(record);
    tampered.rounds[0]!.utilities[1]! += 0.01;
    await page.getByLabel(/a record of my own/).check();
    await page.locator('input[name="record-file"]').setInputFiles({
      name: 'tampered.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(tampered)),
    });
    // The file is read into the text area (pretty-printed), where it can be read and edited.
    // Polled from here: a predicate polled inside the page would be eval'd, which the CSP forbids.
    await until('the uploaded record in the text area', 10_000, async () =>
      (await page.locator('textarea[name="record"]').inputValue()).includes('"utilities": ['),
    );
    await page.getByRole('button', { name: 'Run the audit' }).click();
    await page.locator('.verdict[data-verdict="fail"]').waitFor({ timeout: 20_000 });
    const finding = page.locator('ul.findings li[data-kind="COMMITMENT_MISMATCH"]');
    expect(await finding.count()).toBe(1);
    expect(await finding.getAttribute('data-round')).toBe('1');
    expect(await finding.getAttribute('data-fields')).toBe('utilities');
    expect(await finding.textContent()).toContain('utilities');
    expect(await page.locator('section.audit-round[data-round="1"] .badge-fail').count()).toBe(1);
    // Round 2's record is untouched (its commitments hold), though its least-squares estimates rest
    // on round 1's group values, so its rewards may no longer follow.
    expect(
      await page.locator('ul.findings li[data-round="2"][data-kind="COMMITMENT_MISMATCH"]').count(),
    ).toBe(0);
    await shot(page, 'audit-tampered');

    // Pasted text works the same way, by keyboard: the honest record passes again.
    await page.locator('textarea[name="record"]').fill(JSON.stringify(record));
    await page.locator('textarea[name="record"]').focus();
    await page.keyboard.press('Tab'); // the file input
    await page.keyboard.press('Tab'); // the run button
    await page.keyboard.press('Enter');
    await page.locator('.verdict[data-verdict="pass"]').waitFor({ timeout: 20_000 });
    // A record that is not one cannot be audited: a typed message, not a crash.
    await page.locator('textarea[name="record"]').fill('{"format": "something else"}');
    await page.getByRole('button', { name: 'Run the audit' }).click();
    await page.locator('.verdict[data-verdict="error"]').waitFor();
    expect(await page.locator('.verdict[data-verdict="error"]').textContent()).toContain(
      'malformed',
    );
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByLabel(/the one the aggregator publishes/).check();
    await page.getByRole('button', { name: 'Run the audit' }).click();
    await page.locator('.verdict[data-verdict="pass"]').waitFor({ timeout: 20_000 });
    await shot(page, 'audit-phone');
    await page.close();
  }, 90_000);

  it('logged no console error on any page', () => {
    expect(consoleErrors).toEqual([]);
  });
});
