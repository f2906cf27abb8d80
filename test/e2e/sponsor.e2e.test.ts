/**
 * The Sponsor page in a real browser (Debian's chromium via playwright-core) against a real
 * aggregator, PostgreSQL, Redis and anvil: with anvil's development keys a sponsor creates and funds
 * a paid-licence bounty from an uploaded CSV (tfjs builds the spec in the page, the aggregator
 * re-checks both hashes against the chain) and finds it in the catalogue with its model size and
 * task; after the coordinator records the bounty's only round and publishes version 1, a model
 * user buys a licence and rates the version by keyboard alone, a second rating fails with the
 * contract's decoded `AlreadyRated`, and a contributor claims its reward and its share of the
 * licence revenue; the Contributor page lists that stake and those claims from chain events.
 * Every action shows its transaction hashes; nothing is logged to the console as an error.
 * Screenshots go to test/artifacts/web/.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keccak256, toUtf8Bytes, Wallet } from 'ethers';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { RunningServer } from '../../server/app.js';
import type { Chain } from '../../server/chain/chain.service.js';
import { startTestChain, startTestServer, stopTestServer } from '../../server/test/harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = join(here, '..', 'artifacts', 'web');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FEATURES = 4;
const CLASSES = 3;

/** A small validation CSV with a header: 4 features and a label column. */
function csv(rows: number): string {
  const lines = ['a,b,c,d,label'];
  for (let i = 0; i < rows; i++) {
    const y = i % CLASSES;
    lines.push(
      [
        ...Array.from(
          { length: FEATURES },
          (_, j) => ((i * 7 + j * 3) % 10) / 10 + (j === y ? 1 : 0),
        ),
        y,
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}

describe('e2e: the Sponsor page on the dev chain', () => {
  let chain: Chain;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  let bountyId: number;

  const shot = (name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const panel = (id: string) => page.locator(`section[data-panel="${id}"]`);

  async function useDevKey(index: number) {
    await panel('wallet')
      .getByLabel(/Development key/)
      .selectOption(String(index));
    await panel('wallet').getByRole('button', { name: 'Use development key' }).click();
    const address = new Wallet(chain.keys![index]!).address;
    // The page's development keys are anvil's: account #index is the chain's funded key #index.
    await page.locator(`[data-wallet="${address}"]`).waitFor();
    return address;
  }

  async function faucet() {
    await panel('wallet').getByRole('button', { name: 'Get 10,000 test tokens' }).click();
    await panel('wallet').locator('.step-done .step-tx').waitFor();
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [chain, browser] = await Promise.all([
      startTestChain(12),
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
    ]);
    server = await startTestServer(chain);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    if (server) await stopTestServer(server);
    await chain?.stop!();
  });

  it('creates and funds a bounty from the page, then shows it in the catalogue', async () => {
    expect(chain.chainId).toBe(31337);
    await page.goto(`${server.url}/`);
    await page.getByRole('link', { name: 'Sponsor' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sponsor' }).waitFor();
    await useDevKey(2);
    await faucet();
    await page.locator('[data-balance="tokens"]', { hasText: '10000.0' }).waitFor();

    const create = panel('create');
    await create.getByLabel('Validation set (CSV)').setInputFiles({
      name: 'val.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv(60)),
    });
    await create.getByLabel('Budget (tokens)').fill('300');
    await create.getByLabel('Rounds', { exact: true }).fill('1');
    await create.getByLabel('Min participants').fill('3');
    await create.locator('select[name="licence"]').selectOption('paid');
    await create.getByLabel('Price (tokens, paid licence)').fill('30');
    await create.getByRole('button', { name: 'Create and fund' }).click();
    const created = create.locator('p.created');
    await created.waitFor({ timeout: 30_000 });
    const text = (await created.textContent())!;
    bountyId = Number(/Bounty #(\d+)/.exec(text)![1]);
    expect(text).toContain(`${FEATURES * CLASSES + CLASSES} parameters`);
    // approve, createBounty and setLicenceTerms each show their transaction hash.
    expect(await create.locator('.step-done .step-tx').count()).toBe(3);
    expect(await create.locator('[role="alert"]').count()).toBe(0);
    await shot('sponsor-created');

    const b = await chain.contracts.bounties.getBounty(BigInt(bountyId));
    expect(b.deposited).toBe(300n * 10n ** 18n);
    expect(b.rounds).toBe(1);
    const terms = await chain.contracts.registry.licenceTerms(BigInt(bountyId));
    expect(terms.price).toBe(30n * 10n ** 18n);

    await create.getByRole('link', { name: 'See it in the catalogue' }).click();
    const card = page.locator(`article[data-bounty="${bountyId}"]`);
    await card.waitFor();
    await card.locator('[data-field="size"]', { hasText: '15 parameters' }).waitFor();
    expect(await card.locator('[data-field="task"]').textContent()).toBe(
      `input ${FEATURES}, ${CLASSES} classes`,
    );
    await shot('catalogue-with-sponsored');
  });

  it('a bad input fails with a typed error before anything is sent', async () => {
    await page.goto(`${server.url}/sponsor`);
    await useDevKey(2);
    const create = panel('create');
    await create.getByLabel('Validation set (CSV)').setInputFiles({
      name: 'bad.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('a,b,label\n1,2,0\n1,x,1\n'),
    });
    await create.getByRole('button', { name: 'Create and fund' }).click();
    await create.locator('[role="alert"][data-code="CSV_BAD_VALUE"]').waitFor();
    expect(await create.locator('[role="alert"]').textContent()).toContain('line 3');
  });

  it('buys a licence, rates by keyboard, claims reward and revenue; the contributor page shows it', async () => {
    const id = BigInt(bountyId);
    // Three data owners join; the coordinator records the only round and publishes version 1.
    const owners = [3, 4, 5].map((i) => new Wallet(chain.keys![i]!, chain.provider));
    for (const w of owners) await chain.contracts.bounties.connect(w).join(id, 0n);
    await chain.contracts.bounties.recordRound(
      id,
      1,
      keccak256(toUtf8Bytes('model v1')),
      owners.map((w, i) => ({
        account: w.address,
        commitment: keccak256(toUtf8Bytes(`c${i}`)),
        score: BigInt(1000 * (i + 1)),
        reward: BigInt(50 * (i + 1)) * 10n ** 18n,
      })),
    );
    await chain.contracts.registry.publishVersion(id, 1, keccak256(toUtf8Bytes('v1')), 'v1');

    await page.goto(`${server.url}/sponsor?bounty=${bountyId}`);
    const buyer = await useDevKey(7);
    await faucet();
    await panel('buy').getByRole('button', { name: 'Buy licence' }).click();
    await panel('buy')
      .locator('.step-done', { hasText: 'buy the licence' })
      .locator('.step-tx')
      .waitFor();
    expect(await chain.contracts.registry.hasLicence(id, buyer)).toBe(true);

    // Rate by keyboard only: focus the version field, move with Tab, choose with the arrow keys.
    const rate = panel('rate');
    await rate.getByLabel('Version').focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('1');
    await page.keyboard.press('Tab');
    await page.keyboard.press('ArrowDown'); // 5 -> 4 stars
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Rate');
    await page.keyboard.press('Enter');
    await rate.locator('.step-done .step-tx').waitFor();
    const v = await chain.contracts.registry.getVersion(id, 1);
    expect([v.ratingCount, v.ratingSum]).toEqual([1, 4]);
    await shot('sponsor-bought-rated');
    // A second rating is refused by the contract, and the page names the error.
    await rate.getByRole('button', { name: 'Rate' }).click();
    await rate.locator('[role="alert"][data-code="AlreadyRated"]').waitFor();
    await rate.locator('.step-failed').waitFor();

    const owner = await useDevKey(5);
    const claim = panel('claim');
    await claim.getByRole('button', { name: 'Claim rewards' }).click();
    await claim.locator('.step-done', { hasText: 'received 150.0 tokens' }).waitFor();
    await claim.getByRole('button', { name: 'Claim licence revenue' }).click();
    await claim
      .locator('.step-done', { hasText: 'claim licence revenue' })
      .locator('.step-tx')
      .waitFor();
    // Its share of the 30-token price by reward: 150 / 300.
    expect(await claim.textContent()).toContain('received 15.0 tokens');
    await shot('sponsor-claimed');

    await panel('wallet').getByRole('link', { name: 'rounds, claims, stake' }).click();
    await page.locator('table.chain-events').waitFor();
    const kinds = await page
      .locator('table.chain-events tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')));
    expect(kinds).toEqual(['stake', 'claim', 'revenue']);
    expect(await page.locator('.chain-totals [data-kind="claim"] dd').textContent()).toContain(
      '150,000,000,000,000,000,000 units',
    );
    expect(owner).toBe(owners[2]!.address);
    await shot('contributor-chain-events');
    expect(consoleErrors).toEqual([]);
  });
});
