/**
 * Persistent offenders, slashed: six staked data owners, one of which sends a harmful update every
 * round (the opposite of the task's direction, within the clip). Groups are redrawn every round, so
 * by the last round the least-squares estimates separate it from its group-mates; the bounty's
 * spec opts in to slashing below a score, and settlement of the last round slashes the whole stake
 * of exactly the members whose final estimate is below it, the harmful one among them (real
 * PostgreSQL, Redis, anvil). Whether the estimates single it out alone depends on the random
 * groups; the accuracy benchmark measures the estimator itself.
 */
import { Wallet } from 'ethers';
import { toFixedScore } from '../../aggregation/index.js';
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
  waitFor,
} from '../test/harness.js';

const INPUTS = 8;
const CLASSES = 2;
const PARAMS = INPUTS * CLASSES + CLASSES;
const ROUNDS = 6;
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
      budget: 6_000_000n,
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
    await waitFor(async () => {
      const rs = await server.ds.getRepository(Round).findBy({ bountyId });
      return rs.filter((r) => r.state === 'settled').length >= ROUNDS;
    }, 100_000);
  });
  afterAll(async () => {
    for (const a of agents) a.stop();
    await stopTestServer(server);
    await chain.stop!();
  });

  it('slashes exactly the members scored below the threshold, the harmful one among them', async () => {
    const last = await server.ds
      .getRepository(Round)
      .findOneByOrFail({ bountyId, ledgerRound: ROUNDS });
    expect(last.state).toBe('settled');
    const scores = await server.ds.getRepository(Participant).findBy({ roundId: last.id });
    expect(scores).toHaveLength(6);
    // The last round's recorded scores are the final least-squares estimates.
    const fixed = (last.scoring as unknown as { fixedScores: Record<string, string> }).fixedScores;
    const below = new Set(
      Object.entries(fixed)
        .filter(([, v]) => BigInt(v) < toFixedScore(-0.05))
        .map(([a]) => a),
    );
    expect(below.has(attacker)).toBe(true);
    const { bounties } = chain.contracts;
    let slashedTotal = 0n;
    for (const a of agents) {
      const { amount } = await bounties.stakeOf(BigInt(bountyId), a.address);
      expect(amount).toBe(below.has(a.address) ? 0n : STAKE);
      if (below.has(a.address)) slashedTotal += STAKE;
    }
    const slashes = await server.ds
      .getRepository(ChainReceipt)
      .findBy({ bountyId, roundNumber: last.number });
    expect(slashes.filter((r) => r.kind.startsWith('slash:'))).toHaveLength(below.size);
    // The slashed stake went back to the bounty's funds (returned to the sponsor by refund).
    const b = await bounties.getBounty(BigInt(bountyId));
    expect(b.deposited).toBe(6_000_000n + slashedTotal);
  });
});
