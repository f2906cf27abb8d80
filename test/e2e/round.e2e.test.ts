/**
 * The four services together: PostgreSQL, Redis, anvil and the aggregator, with six agents as
 * separate processes. A sponsor funds a bounty on chain; 3 rounds in 2 groups; one agent is killed
 * in round 2 (after sharing its keys, so its masks must be recovered) and that round still
 * completes; the agent comes back for round 3.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Wallet } from 'ethers';
import {
  buildModel,
  initBackend,
  initialWeights,
  linearArchitecture,
  loadMnistDigits,
  makeDataset,
  slice,
} from '../../client-agent/index.js';
import { ProtocolAgent } from '../../client-agent/protocol/index.js';
import type { RunningServer } from '../../server/app.js';
import type { Chain } from '../../server/chain/chain.service.js';
import type { BountySpec } from '../../server/db/entities.js';
import { artifactHash } from '../../server/models/artifact.js';
import {
  denseSpec,
  joinOnChain,
  sponsorBounty,
  startTestChain,
  startTestServer,
  stopTestServer,
} from '../../server/test/harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const AGENTS = 6;

interface AgentProc {
  index: number;
  key: string;
  child: ChildProcess;
  events: Record<string, unknown>[];
}

function waitUntil(
  pred: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = async () => {
      try {
        if (await pred()) return resolve();
        if (Date.now() > until) return reject(new Error(`timed out waiting for ${what}`));
        setTimeout(() => void tick(), 100);
      } catch (err) {
        reject(err as Error);
      }
    };
    void tick();
  });
}

describe('e2e: a bounty trained over the network and settled on chain', () => {
  let chain: Chain;
  let server: RunningServer;
  const procs: AgentProc[] = [];
  let bountyId: number;

  function spawnAgent(index: number, key: string, extra: Record<string, string> = {}): AgentProc {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'agent.ts')], {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        SERVER_URL: server.url,
        AGENT_KEY: key,
        AGENT_INDEX: String(index),
        AGENT_COUNT: String(AGENTS),
        BOUNTY_ID: String(bountyId),
        TRIBUTARY_BACKEND: 'cpu',
        ...extra,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const p: AgentProc = { index, key, child, events: [] };
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        p.events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not an event line
      }
    });
    return p;
  }

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await stopTestServer(server);
    await chain.stop!();
  });

  it('six agents, three rounds, a dropout, accuracy up, rewards on chain', async () => {
    chain = await startTestChain(20);
    server = await startTestServer(chain, {
      stageTimeoutsMs: { keys: 8000, shares: 8000, masked: 12000, unmask: 8000 },
      gatherMs: 1500,
    });
    await initBackend({ prefer: ['cpu'], log: null });
    const { train, test } = await loadMnistDigits();
    const flatTest = makeDataset(test.x, test.y, [784], 10);
    const validation = slice(flatTest, 0, 500);
    const heldOut = slice(flatTest, 500, 1500);
    const arch = linearArchitecture(784, 10);
    const model = await buildModel(arch);
    const spec: BountySpec = {
      ...denseSpec(784, 10),
      modelTopology: arch,
      weightSpecs: model.weights.map((w) => ({
        name: w.originalName,
        shape: w.shape as number[],
        dtype: 'float32',
      })),
      minParticipants: AGENTS,
      train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
    };
    const w0 = initialWeights(model, 1);
    model.dispose();
    void train;
    ({ bountyId } = await sponsorBounty(server, chain, {
      sponsorKey: chain.keys![1]!,
      spec,
      weights: w0,
      validation: { shape: [784], classes: 10, x: validation.x, y: validation.y },
      budget: 3_000_000_000n,
      rounds: 3,
      minParticipants: 3,
    }));

    for (let i = 0; i < AGENTS; i++) {
      const key = chain.keys![2 + i]!;
      await joinOnChain(chain, key, bountyId);
      procs.push(spawnAgent(i, key, i === 0 ? { AGENT_SLOW_ROUND: '2' } : {}));
    }
    await waitUntil(
      () => procs.every((p) => p.events.some((e) => e.type === 'joined')),
      60_000,
      'agents to join',
    );

    // Kill agent 0 in round 2 once it has shared its keys: that round must still complete.
    const victim = procs[0]!;
    const round2Id = async () =>
      (
        (await server.ds.query(`SELECT id FROM round WHERE bounty_id = $1 AND number = 2`, [
          bountyId,
        ])) as { id: number }[]
      )[0]?.id;
    await waitUntil(
      async () => {
        const id = await round2Id();
        return (
          id !== undefined &&
          victim.events.some((e) => e.type === 'sent' && e.stage === 'shares' && e.roundId === id)
        );
      },
      90_000,
      'the victim to share keys in round 2',
    );
    victim.child.kill('SIGKILL');
    await waitUntil(
      async () => {
        const [r] = (await server.ds.query(
          `SELECT state FROM round WHERE bounty_id = $1 AND number = 2`,
          [bountyId],
        )) as { state: string }[];
        return r !== undefined && ['aggregated', 'scored', 'settled'].includes(r.state);
      },
      60_000,
      'round 2 to aggregate without the victim',
    );
    // The data owner restarts the agent; round 3 runs with all six again.
    procs.push(spawnAgent(0, victim.key));

    await waitUntil(
      async () => (await chain.contracts.bounties.recordedRounds(BigInt(bountyId))).length === 3,
      120_000,
      'three rounds on chain',
    );

    const rounds = (await (await fetch(`${server.url}/bounties/${bountyId}/rounds`)).json()) as {
      number: number;
      ledgerRound: number | null;
      state: string;
      groups: { members: string[]; survivors: string[]; state: string }[];
    }[];
    const done = rounds.filter((r) => r.ledgerRound !== null);
    expect(done.map((r) => r.ledgerRound)).toEqual([1, 2, 3]);
    for (const r of done) {
      expect(r.groups.filter((g) => g.state === 'aggregated')).toHaveLength(2);
    }
    const victimAddress = new Wallet(victim.key).address;
    const r2 = done.find((r) => r.ledgerRound === 2)!;
    expect(
      r2.groups.some(
        (g) => g.members.includes(victimAddress) && !g.survivors.includes(victimAddress),
      ),
    ).toBe(true);

    // Everyone picked for a round has its contribution event (those left out, like the killed
    // agent, with score and reward 0); rewards match the server's.
    const recorded = await chain.contracts.bounties.recordedRounds(BigInt(bountyId));
    for (const r of done) {
      const onChain = recorded.find((x) => Number(x.round) === r.ledgerRound)!;
      const picked = r.groups.flatMap((g) => g.members).sort();
      expect(onChain.contributions.map((c) => c.account).sort()).toEqual(picked);
      const summed = new Set(r.groups.flatMap((g) => g.survivors));
      for (const c of onChain.contributions)
        if (!summed.has(c.account)) expect([c.score, c.reward]).toEqual([0n, 0n]);
    }
    const serverRewards = (await (
      await fetch(`${server.url}/bounties/${bountyId}/contributors`)
    ).json()) as {
      address: string;
      rewards: string;
    }[];
    expect(serverRewards).toHaveLength(AGENTS);
    let paid = 0n;
    for (const c of serverRewards) {
      const leaves = await chain.contracts.bounties.unclaimedLeaves(BigInt(bountyId), c.address);
      const claimable = leaves.reduce((a, l) => a + l.reward, 0n);
      expect(claimable).toBe(BigInt(c.rewards));
      paid += claimable;
    }
    expect(paid).toBeGreaterThan(0n);

    // The published model: hash equals the chain's, loads in plain tfjs, and beats version 0.
    const version = Number(await chain.contracts.registry.latestVersion(BigInt(bountyId)));
    expect(version).toBe(3);
    // Settled: the model is for licence holders now. The reader, the best-paid contributor,
    // claims its contributor's licence on chain with one of its rewarded leaves.
    const top = serverRewards.reduce((x, y) => (BigInt(y.rewards) > BigInt(x.rewards) ? y : x));
    const readerKey = chain
      .keys!.slice(2, 2 + AGENTS)
      .find((k) => new Wallet(k).address.toLowerCase() === top.address.toLowerCase())!;
    const readerWallet = new Wallet(readerKey, chain.provider);
    const licence = await chain.contracts.registry
      .connect(readerWallet)
      .claimContributorLicenceFor(BigInt(bountyId), readerWallet.address);
    expect(licence?.leaf.reward).toBeGreaterThan(0n);
    const reader = new ProtocolAgent({
      serverUrl: server.url,
      wallet: new Wallet(readerKey),
      bountyId,
      train: async () => ({ delta: new Float32Array(0), samples: 0 }),
    });
    const accuracyOf = async (v: number): Promise<{ acc: number; hash: string }> => {
      const path = `/models/${bountyId}/versions/${v}/`;
      const headers = await reader.downloadHeaders(path);
      const [json, bin] = await Promise.all(
        ['model.json', 'weights.bin'].map(async (f) => {
          const res = await fetch(`${server.url}${path}${f}`, { headers });
          expect(res.status).toBe(200);
          return new Uint8Array(await res.arrayBuffer());
        }),
      );
      // Parsed here rather than through tfjs' http handler: under Jest the fetch result's arrays
      // come from another realm and fail tfjs' `instanceof Array` checks.
      const mj = JSON.parse(Buffer.from(json!).toString('utf8')) as tf.io.ModelJSON;
      const loaded = await tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: mj.modelTopology,
          weightSpecs: mj.weightsManifest.flatMap((g) => g.weights),
          weightData: bin!.slice().buffer,
        }),
      );
      const x = tf.tensor(heldOut.x, [heldOut.y.length, 784]);
      const pred = (loaded.predict(x) as tf.Tensor).argMax(-1);
      const labels = (await pred.data()) as Int32Array;
      let correct = 0;
      labels.forEach((l, i) => (correct += l === heldOut.y[i] ? 1 : 0));
      tf.dispose([x, pred]);
      loaded.dispose();
      return { acc: correct / heldOut.y.length, hash: artifactHash(json!, bin!) };
    };
    const before = await accuracyOf(0);
    const after = await accuracyOf(3);
    expect(after.hash).toBe(
      (await chain.contracts.registry.getVersion(BigInt(bountyId), 3)).artifactHash,
    );
    expect(after.acc).toBeGreaterThan(before.acc + 0.2);
    console.log(`e2e: held-out accuracy v0 ${before.acc.toFixed(3)} -> v3 ${after.acc.toFixed(3)}`);
  }, 240_000);
});
