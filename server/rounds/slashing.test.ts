/**
 * Persistent offenders, slashed: six staked data owners, one of which sends a harmful update every
 * round (the opposite of the task's direction, within the clip). Groups are redrawn every round, so
 * by the last round the least-squares estimates separate it from its group-mates; the bounty's
 * spec opts in to slashing below a score, and settlement of the last round slashes its whole stake
 * and nobody else's (real PostgreSQL, Redis, anvil).
 */
import { Wallet } from 'ethers';
import { ProtocolAgent } from '../../client-agent/protocol/index.js';
import type { RunningServer } from '../app.js';
import type { Chain } from '../chain/chain.service.js';
import { ChainReceipt, Participant, Round } from '../db/entities.js';
import {
  denseSpec,
  sponsorBounty,
  startTestChain,
  startTestServer,
  stopTestServer,
  syntheticTask,
} from '../test/harness.js';

const INPUTS = 8;
const CLASSES = 2;
const PARAMS = INPUTS * CLASSES + CLASSES;
const ROUNDS = 4;
const STAKE = 100n * 10n ** 18n;

describe('a persistent offender is slashed at the last round, and only it', () => {
  let chain: Chain;
  let server: RunningServer;
  const agents: ProtocolAgent[] = [];
  let bountyId: number;
  let attacker = '';

  beforeAll(async () => {
    chain = await startTestChain();
    server = await startTestServer(chain);
    ({ bountyId } = await sponsorBounty(server, chain, {
      sponsorKey: chain.keys![1]!,
      spec: denseSpec(INPUTS, CLASSES, { maxGroups: 2, clip: 2, slashBelow: -0.05 }),
      weights: new Float32Array(PARAMS),
      validation: syntheticTask(INPUTS, CLASSES, 200, 3),
      budget: 4_000_000n,
      rounds: ROUNDS,
      minParticipants: 6,
    }));
    const { token, bounties } = chain.contracts;
    for (let i = 0; i < 6; i++) {
      const wallet = new Wallet(chain.keys![2 + i]!, chain.provider);
      await token.transfer(wallet.address, STAKE);
      await token.connect(wallet).approve(chain.addresses.bounties, STAKE);
      await bounties.connect(wallet).join(BigInt(bountyId), STAKE);
      // Useful: the kernel leans towards the task's class blocks; the attacker pulls the other way.
      const sign = i === 0 ? -3 : 1;
      const delta = Float32Array.from({ length: PARAMS }, (_, k) => {
        if (k >= INPUTS * CLASSES) return 0;
        const [j, c] = [Math.floor(k / CLASSES), k % CLASSES];
        return Math.floor(j / (INPUTS / CLASSES)) === c ? sign * 0.2 : 0;
      });
      const agent = new ProtocolAgent({
        serverUrl: server.url,
        wallet,
        bountyId,
        reconnect: false,
        train: async () => ({ delta, samples: 10 }),
      });
      if (i === 0) attacker = agent.address;
      agents.push(agent);
    }
    for (const a of agents) await a.start();
    const until = Date.now() + 100_000;
    while (Date.now() < until) {
      const rs = await server.ds.getRepository(Round).findBy({ bountyId });
      if (rs.filter((r) => r.state === 'settled').length >= ROUNDS) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  afterAll(async () => {
    for (const a of agents) a.stop();
    await stopTestServer(server);
    await chain.stop!();
  });

  it('slashes the whole stake of the harmful member, keeps everyone else’s', async () => {
    const last = await server.ds
      .getRepository(Round)
      .findOneByOrFail({ bountyId, ledgerRound: ROUNDS });
    expect(last.state).toBe('settled');
    const scores = await server.ds.getRepository(Participant).findBy({ roundId: last.id });
    const fixed = (last.scoring as unknown as { fixedScores: Record<string, string> }).fixedScores;
    // The final estimates rank the attacker last and below the threshold; the others above it.
    const ranked = Object.entries(fixed).sort((a, b) => (BigInt(a[1]) < BigInt(b[1]) ? -1 : 1));
    expect(ranked[0]![0]).toBe(attacker);
    expect(scores).toHaveLength(6);
    const { bounties } = chain.contracts;
    expect((await bounties.stakeOf(BigInt(bountyId), attacker)).amount).toBe(0n);
    for (const a of agents.filter((x) => x.address !== attacker))
      expect((await bounties.stakeOf(BigInt(bountyId), a.address)).amount).toBe(STAKE);
    const slashes = await server.ds
      .getRepository(ChainReceipt)
      .findBy({ bountyId, roundNumber: last.number });
    expect(slashes.filter((r) => r.kind.startsWith('slash:'))).toHaveLength(1);
    // The slashed stake went back to the bounty's funds (returned to the sponsor by refund).
    const b = await bounties.getBounty(BigInt(bountyId));
    expect(b.deposited).toBe(4_000_000n + STAKE);
  });
});
