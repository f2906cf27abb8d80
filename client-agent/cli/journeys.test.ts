/**
 * The four journeys end to end through the CLI against the real aggregator (in process, on its own
 * PostgreSQL schema and Redis prefix) and a real anvil chain: a sponsor creates and registers a
 * bounty, six data owners join it with their own CSV files and train locally, the round is
 * settled on chain, every owner claims, anyone audits, a contributor downloads the model.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import type { RunningServer } from '../../server/app.js';
import type { Chain } from '../../server/chain/chain.service.js';
import { startTestChain, startTestServer, stopTestServer } from '../../server/test/harness.js';
import { cli } from './test-kit.js';

const FEATURES = 8;
const CLASSES = 3;
const AGENTS = 6;
const E18 = 10n ** 18n;

/** Class k has mean +1 on feature block k; `noise` scales the rest. */
function csv(n: number, seed: number, noise = 1): string {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const rows = [
    Array.from({ length: FEATURES }, (_, j) => `f${j}`)
      .concat('label')
      .join(','),
  ];
  const block = Math.floor(FEATURES / CLASSES);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * CLASSES);
    const x = Array.from({ length: FEATURES }, (_, j) =>
      ((Math.floor(j / block) === c ? 1 : 0) + (rand() - 0.5) * noise).toFixed(4),
    );
    rows.push([...x, String(c)].join(','));
  }
  return rows.join('\n') + '\n';
}

describe('the four journeys through the CLI', () => {
  let chain: Chain;
  let server: RunningServer;
  let dir: string;
  let deployment: string;

  beforeAll(async () => {
    chain = await startTestChain(AGENTS + 2);
    server = await startTestServer(chain);
    dir = await mkdtemp(join(tmpdir(), 'tributary-journeys-'));
    deployment = join(dir, 'deployment.json');
    await writeFile(
      deployment,
      JSON.stringify({
        rpcUrl: chain.url,
        contracts: chain.addresses,
        coordinator: chain.coordinator.address,
        server: server.url,
      }),
    );
    await writeFile(join(dir, 'validation.csv'), csv(90, 999));
    for (let i = 0; i < AGENTS; i++) await writeFile(join(dir, `owner${i}.csv`), csv(60, i + 1));
  });

  afterAll(async () => {
    await stopTestServer(server);
    await chain.stop?.();
    await rm(dir, { recursive: true, force: true });
  });

  it('sponsor, join, claim, audit, download', async () => {
    const keys = chain.keys!;
    const sponsor = new Wallet(keys[1]!);
    await chain.contracts.token.transfer(sponsor.address, 600n * E18);

    // Sponsor a bounty: funded on chain, registered with the aggregator.
    const created = await cli(
      [
        '--deployment',
        deployment,
        '--json',
        'bounty',
        'create',
        '--model',
        `linear:${FEATURES}x${CLASSES}`,
        '--validation',
        join(dir, 'validation.csv'),
        '--budget',
        '600',
        '--rounds',
        '1',
        '--min-participants',
        String(AGENTS),
        '--learning-rate',
        '0.1',
        '--epochs',
        '2',
      ],
      { TRIBUTARY_KEY: sponsor.privateKey },
    );
    expect(created.err).toBe('');
    expect(created.code).toBe(0);
    const { bountyId, registered } = created.json<{ bountyId: string; registered: string }>();
    expect(registered).toBe(server.url);
    // The server's URL is enough: it announces its chain, contracts and coordinator (GET /chain).
    const listed = await cli(['--server', server.url, 'bounty', 'list']);
    expect(listed.out).toMatch(new RegExp(`^\\s*${bountyId}\\s+open\\s+open`, 'm'));

    // Join a round: six owners, each with a CSV file, until the bounty is settled on chain.
    const owners = keys.slice(2, 2 + AGENTS);
    const joins = await Promise.all(
      owners.map((key, i) =>
        cli(
          [
            '--deployment',
            deployment,
            '--json',
            'join',
            bountyId,
            '--data',
            join(dir, `owner${i}.csv`),
            '--timeout',
            '60',
          ],
          { TRIBUTARY_KEY: key },
        ),
      ),
    );
    for (const j of joins) {
      if (j.code !== 0) throw new Error(`join failed: ${j.out} ${j.err}`);
      const s = j.json<{
        stopped: string;
        rounds: { state: string; reward?: string }[];
        claimable: string;
      }>();
      if (s.stopped !== 'bounty settled') throw new Error(`join: ${j.out} ${j.err}`);
      expect(s.rounds).toHaveLength(1);
      expect(s.rounds[0]!.state).toBe('settled');
      expect(BigInt(s.rounds[0]!.reward!)).toBe(BigInt(s.claimable));
    }
    const b = await chain.contracts.bounties.getBounty(BigInt(bountyId));
    expect(b.roundsRecorded).toBe(1);

    // Claim: each owner is paid exactly what the chain recorded for it.
    const [recorded] = await chain.contracts.bounties.recordedRounds(BigInt(bountyId));
    let paid = 0n;
    for (const key of owners) {
      const w = new Wallet(key);
      const owed = recorded!.contributions
        .filter((c) => c.account === w.address)
        .reduce((s, c) => s + c.reward, 0n);
      const before = await chain.contracts.token.balanceOf(w.address);
      const r = await cli(['--deployment', deployment, '--json', 'claim', bountyId], {
        TRIBUTARY_KEY: key,
      });
      expect(r.code).toBe(0);
      expect(await chain.contracts.token.balanceOf(w.address)).toBe(before + owed);
      paid += owed;
    }
    expect(paid).toBe(recorded!.totalReward);

    // Audit: every reward re-derived from the aggregator's published round record.
    const audit = await cli([
      '--deployment',
      deployment,
      '--json',
      'audit',
      bountyId,
      '--save-record',
      join(dir, 'record.json'),
    ]);
    const rep = audit.json<{
      pass: boolean;
      findings: unknown[];
      rows: { commitment: string }[];
    }>();
    expect(rep.findings).toEqual([]);
    expect(audit.code).toBe(0);
    expect(rep.rows).toHaveLength(AGENTS);
    expect(rep.rows.every((r) => r.commitment === 'bound')).toBe(true);

    // Replay (the sponsor, who may see the group aggregates): every model version re-derived
    // through the strategy and found on chain, every coalition utility re-measured.
    const replay = await cli(
      [
        '--deployment',
        deployment,
        '--json',
        'audit',
        bountyId,
        '--replay',
        '--validation',
        join(dir, 'validation.csv'),
      ],
      { TRIBUTARY_KEY: sponsor.privateKey },
    );
    expect(replay.err).toBe('');
    const rr = replay.json<{
      pass: boolean;
      replay: {
        pass: boolean;
        versionsChecked: number;
        utilitiesChecked: number;
        findings: unknown[];
      };
    }>();
    expect(rr.replay.findings).toEqual([]);
    expect(rr.replay.versionsChecked).toBeGreaterThanOrEqual(1);
    expect(rr.replay.utilitiesChecked).toBeGreaterThanOrEqual(2);
    expect(replay.code).toBe(0);
    // A stranger's wallet may not see the aggregates of a licensed model.
    const stranger = await cli(['--deployment', deployment, 'audit', bountyId, '--replay'], {
      TRIBUTARY_KEY: Wallet.createRandom().privateKey,
    });
    expect(stranger.code).not.toBe(0);
    expect(stranger.err).toMatch(/NO_LICENCE/);

    // Download the model: licensed to contributors, hash checked against the registry.
    const anon = await cli([
      '--deployment',
      deployment,
      'model',
      'download',
      bountyId,
      '--out',
      join(dir, 'm0'),
    ]);
    expect(anon.err).toMatch(/^error \[NO_LICENCE\]/);
    const dl = await cli(
      [
        '--deployment',
        deployment,
        '--json',
        'model',
        'download',
        bountyId,
        '--out',
        join(dir, 'model'),
      ],
      { TRIBUTARY_KEY: owners[0]! },
    );
    expect(dl.err).toBe('');
    expect(dl.code).toBe(0);
    expect(dl.json<{ verified: boolean; version: string }>()).toMatchObject({
      verified: true,
      version: '1',
    });
  });
  it('registers a bounty later, reports a registration the server refuses, refuses data that does not fit', async () => {
    const keys = chain.keys!;
    const sponsor = new Wallet(keys[1]!);
    await chain.contracts.token.transfer(sponsor.address, 31n * E18);
    const base = ['--deployment', deployment];
    const created = await cli(
      [
        ...base,
        '--json',
        'bounty',
        'create',
        '--model',
        `linear:${FEATURES}x${CLASSES}`,
        '--validation',
        join(dir, 'validation.csv'),
        '--budget',
        '30',
        '--rounds',
        '3',
        '--min-stake',
        '2',
        '--no-register',
        '--save',
        dir,
      ],
      { TRIBUTARY_KEY: sponsor.privateKey },
    );
    expect(created.code).toBe(0);
    const { bountyId, registered } = created.json<{ bountyId: string; registered: string }>();
    expect(registered).toBe('not asked');
    // A bounty the aggregator cannot run (another coordinator) is funded, and the error says so.
    const foreign = await cli(
      [
        ...base,
        '--json',
        'bounty',
        'create',
        '--model',
        `linear:${FEATURES}x${CLASSES}`,
        '--validation',
        join(dir, 'validation.csv'),
        '--budget',
        '1',
        '--rounds',
        '1',
        '--coordinator',
        sponsor.address,
      ],
      { TRIBUTARY_KEY: sponsor.privateKey },
    );
    expect(foreign.code).toBe(1);
    const f = foreign.json<{ bountyId: string; registered: string; error: { code: string } }>();
    expect(f.error.code).toBe('BOUNTY_MISMATCH');
    expect(f.registered).toBe('failed (BOUNTY_MISMATCH)');
    expect((await chain.contracts.bounties.getBounty(BigInt(f.bountyId))).deposited).toBe(E18);
    const owner = keys[2]!;
    const early = await cli([...base, 'join', bountyId, '--data', join(dir, 'owner0.csv')], {
      TRIBUTARY_KEY: owner,
    });
    expect(early.code).toBe(2);
    expect(early.err).toMatch(/^error \[UNKNOWN_BOUNTY\]: the server at .* does not run bounty/);
    const reg = await cli([
      ...base,
      'bounty',
      'register',
      bountyId,
      '--from',
      join(dir, `bounty-${bountyId}.json`),
    ]);
    expect(reg.code).toBe(0);
    const twice = await cli([
      ...base,
      'bounty',
      'register',
      bountyId,
      '--from',
      join(dir, `bounty-${bountyId}.json`),
    ]);
    expect(twice.err).toMatch(/^error \[DUPLICATE\]/);
    // Joining stakes the bounty's minimum (approve + join) before anything is sent to the server.
    const ownerAddress = new Wallet(owner).address;
    await chain.contracts.token.transfer(ownerAddress, 5n * E18);
    const held = await chain.contracts.token.balanceOf(ownerAddress);
    await writeFile(join(dir, 'narrow.csv'), 'a,b,label\n1,2,0\n2,1,1\n');
    const narrow = await cli([...base, 'join', bountyId, '--data', join(dir, 'narrow.csv')], {
      TRIBUTARY_KEY: owner,
    });
    expect(narrow.code).toBe(2);
    expect(narrow.err).toBe(
      `error [DATA_SHAPE]: ${join(dir, 'narrow.csv')} has 2 features per sample, bounty ${bountyId}'s model takes ${FEATURES} ([${FEATURES}])\n`,
    );
    const stake = await chain.contracts.bounties.stakeOf(BigInt(bountyId), ownerAddress);
    expect(stake).toEqual({ amount: 2n * E18, joined: true });
    expect(await chain.contracts.token.balanceOf(ownerAddress)).toBe(held - 2n * E18);
  });
});
