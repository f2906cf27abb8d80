/**
 * The aggregator SIGKILLed at every stage of a round and started again on the same database,
 * Redis prefix and port: nothing runs a shutdown hook, running jobs stay locked, every socket
 * drops. One bounty of six rounds, one kill per round: in round n one agent holds back its answer
 * to stage n (so the kill lands while the round waits in that stage, never by timing), the kill
 * and restart happen, the agent lets its answer go. The sixth round is killed in settlement,
 * right after its `recordRound` transaction reached the chain and before the aggregator heard
 * back; the seventh inside scoring and the eighth inside the aggregation, each transaction
 * waiting on row locks the test holds (so the kill lands there by state, not timing). Each round
 * must end settled (or aborted with a reason), recorded on chain exactly once, and the public
 * audit must pass.
 */
import { randomBytes } from 'node:crypto';
import { Wallet } from 'ethers';
import { DataSource } from 'typeorm';
import { ProtocolAgent } from '../../client-agent/protocol/index.js';
import type { RunningServer } from '../app.js';
import type { Chain } from '../chain/chain.service.js';
import { dropSchema } from '../db/datasource.js';
import {
  chainProxy,
  serverProcess,
  settlementsOn,
  auditOf,
  type ChainProxy,
  type ServerProcess,
} from '../test/processes.js';
import {
  DATABASE_URL,
  REDIS_URL,
  denseSpec,
  joinOnChain,
  sponsorBounty,
  startTestChain,
  syntheticTask,
  waitFor,
} from '../test/harness.js';

const INPUTS = 12;
const CLASSES = 3;
const PARAMS = INPUTS * CLASSES + CLASSES;
const AGENTS = 6;
/**
 * The stage whose answer is held back in round n (index n - 1); round 6 dies in settlement,
 * round 7 inside scoring, round 8 inside the aggregation's transaction.
 */
const HELD = ['keys', 'shares', 'masked', 'confirm', 'unmask', 'keys', 'unmask', 'unmask'] as const;

interface Hold {
  reached: Promise<void>;
  release(): void;
}

function hold(): Hold & { arrive(): void } {
  let arrive!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((r) => (arrive = r));
  const gate = new Promise<void>((r) => (release = r));
  return { reached, arrive, release, gate } as Hold & { arrive(): void; gate: Promise<void> };
}

/**
 * An agent that is slow to answer one stage of one round: its answer waits for the test's release
 * (a resend after a reconnect waits too). Everything it sends is the real client's message.
 */
function slowAt(agent: ProtocolAgent, roundOf: Map<number, number>, holds: Map<string, Hold>) {
  const a = agent as unknown as {
    send(roundId: number, stage: string, message: unknown, samples?: number): Promise<void>;
  };
  const send = a.send.bind(agent);
  a.send = async (roundId, stage, message, samples) => {
    const h = holds.get(`${roundOf.get(roundId)}:${stage}`) as
      (Hold & { arrive(): void; gate: Promise<void> }) | undefined;
    if (h) {
      h.arrive();
      await h.gate;
    }
    return send(roundId, stage, message, samples);
  };
}

describe('SIGKILL of the aggregator', () => {
  let chain: Chain;
  let proxy: ChainProxy;
  let srv: ServerProcess;
  let db: DataSource;
  let bountyId: number;
  const agents: ProtocolAgent[] = [];
  const holds = new Map<string, Hold>();
  /** Agents that have the round's model and trained, per round number. */
  const trained = new Map<number, number>();
  const schema = `test_f${randomBytes(4).toString('hex')}`;

  const roundRow = async (n: number) =>
    (
      (await db.query(
        `SELECT id, state, abort_reason, ledger_round AS ledger FROM "${schema}".round
          WHERE bounty_id = $1 AND number = $2`,
        [bountyId, n],
      )) as { id: number; state: string; abort_reason: string | null; ledger: number }[]
    )[0];

  beforeAll(async () => {
    chain = await startTestChain();
    proxy = await chainProxy(chain.url!);
    srv = await serverProcess(
      {
        DATABASE_URL,
        REDIS_URL,
        DB_SCHEMA: schema,
        REDIS_PREFIX: `test:${schema}`,
        CHAIN_RPC_URL: proxy.url,
        COORDINATOR_KEY: chain.keys![0]!,
        CONTRACT_ADDRESSES: JSON.stringify(chain.addresses),
        STAGE_KEYS_MS: '30000',
        STAGE_SHARES_MS: '30000',
        STAGE_MASKED_MS: '30000',
        STAGE_CONFIRM_MS: '30000',
        STAGE_UNMASK_MS: '30000',
        ROUND_GATHER_MS: '200',
        SWEEP_MS: '1000',
        JOB_LOCK_MS: '2000',
        RATE_LIMITS: 'off',
      },
      process.env.TEST_LOG ? process.stderr : undefined,
    );
    await srv.start();
    // Read-only view of the aggregator's tables (it owns the schema and its migrations).
    db = await new DataSource({
      type: 'postgres',
      url: DATABASE_URL,
      extra: { max: 2 },
    }).initialize();
    ({ bountyId } = await sponsorBounty({ url: srv.url } as RunningServer, chain, {
      sponsorKey: chain.keys![1]!,
      spec: denseSpec(INPUTS, CLASSES, { minParticipants: AGENTS }),
      weights: new Float32Array(PARAMS),
      validation: syntheticTask(INPUTS, CLASSES, 100, 3),
      budget: 6_000_000n,
      rounds: HELD.length,
      minParticipants: AGENTS,
    }));
    HELD.forEach((stage, i) => holds.set(`${i + 1}:${stage}`, hold()));
    for (let i = 0; i < AGENTS; i++) {
      const wallet = await joinOnChain(chain, chain.keys![2 + i]!, bountyId);
      const roundOf = new Map<number, number>();
      const agent = new ProtocolAgent({
        serverUrl: srv.url,
        wallet: wallet as unknown as Wallet,
        bountyId,
        reconnect: true,
        onEvent: (e) => {
          if (e.type === 'round') roundOf.set(e.roundId!, (e.detail as { round: number }).round);
          if (process.env.TEST_LOG && e.type !== 'sent')
            console.warn('agent', i, JSON.stringify(e));
        },
        train: async ({ round }) => {
          trained.set(round.round, (trained.get(round.round) ?? 0) + 1);
          return {
            delta: new Float32Array(PARAMS).fill(0.01 * (i + 1)),
            samples: 5,
          };
        },
      });
      // Agent i is the slow one in round i + 1.
      const mine = new Map(
        [...holds].filter(([k]) => (Number(k.split(':')[0]) - 1) % AGENTS === i),
      );
      slowAt(agent, roundOf, mine);
      agents.push(agent);
    }
    await Promise.all(agents.map((a) => a.start()));
  });

  afterAll(async () => {
    for (const h of holds.values()) h.release();
    for (const a of agents) a.stop();
    await srv?.kill();
    await db?.destroy();
    await proxy?.close();
    await dropSchema(DATABASE_URL, schema);
    await chain?.stop!();
  });

  /** The round ended (settled, or aborted with a reason) and is on chain exactly once. */
  async function endsOnce(n: number): Promise<void> {
    await waitFor(
      async () => ['settled', 'aborted'].includes((await roundRow(n))?.state ?? ''),
      90_000,
    );
    const r = (await roundRow(n))!;
    if (r.state === 'aborted') {
      expect(r.abort_reason).toBeTruthy();
      return;
    }
    const onChain = await settlementsOn(chain, bountyId);
    expect(onChain.get(r.ledger)?.records).toBe(1);
    const receipts = (await db.query(
      `SELECT tx_hash AS tx FROM "${schema}".chain_receipt
        WHERE bounty_id = $1 AND round_number = $2 AND kind = 'recordRound'`,
      [bountyId, n],
    )) as { tx: string }[];
    expect(receipts).toEqual([{ tx: onChain.get(r.ledger)!.tx[0] }]);
    const report = await auditOf(srv.url, chain, bountyId);
    expect(report.findings).toEqual([]);
    expect(report.pass).toBe(true);
    expect(onChain.get(r.ledger)?.contributions).toBe(
      report.rows.filter((row) => Number(row.round) === r.ledger).length,
    );
  }

  it.each(HELD.slice(0, 5).map((stage, i) => [stage, i + 1] as const))(
    'killed in stage %s (round %i): the round resumes, settles once, the audit passes',
    async (stage, n) => {
      const h = holds.get(`${n}:${stage}`)!;
      await h.reached;
      // Everyone else has answered and every agent has its model (the agent does not download it
      // again if the aggregator dies mid-download): the round waits only for the slow agent.
      await waitFor(async () => {
        if (trained.get(n) !== AGENTS) return false;
        const r = await roundRow(n);
        if (r?.state !== stage) return false;
        const [{ c }] = (await db.query(
          `SELECT count(*)::int AS c FROM "${schema}".participant WHERE round_id = $1 AND progress = $2`,
          [r.id, stage],
        )) as { c: number }[];
        return c === AGENTS - 1;
      });
      await srv.kill();
      await srv.start();
      h.release();
      await endsOnce(n);
      expect((await roundRow(n))!.state).toBe('settled');
    },
  );

  it('killed in settlement after its transaction was mined: recorded once, audit passes', async () => {
    const n = 6;
    const h = holds.get(`${n}:${HELD[n - 1]}`)!;
    await h.reached;
    proxy.set('lose-next-send');
    h.release();
    await proxy.lost();
    expect((await roundRow(n))!.state).toBe('scored');
    await srv.kill();
    proxy.set('pass');
    await srv.start();
    await endsOnce(n);
    expect((await roundRow(n))!.state).toBe('settled');
    // Every ledger round of the bounty so far, once each.
    const onChain = await settlementsOn(chain, bountyId);
    expect([...onChain.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...onChain.values()].every((v) => v.records === 1)).toBe(true);
  });

  /**
   * Round n waits for its slow agent's unmask answer; the test then holds `lockSql`'s rows and
   * lets the answer go, waits until a statement of the aggregator (one LIKE `waiting`) waits on
   * them, kills the aggregator there, releases the rows and starts it again.
   */
  async function killWhileWaiting(n: number, lockSql: string, waiting: string) {
    const h = holds.get(`${n}:${HELD[n - 1]}`)!;
    await h.reached;
    // Everyone else has answered (or was dropped: the previous case's restart comes while this
    // round runs); only the slow agent owes the unmask stage.
    await waitFor(async () => {
      const r = await roundRow(n);
      if (r?.state !== 'unmask') return false;
      const [{ owing }] = (await db.query(
        `SELECT count(*)::int AS owing FROM "${schema}".participant
          WHERE round_id = $1 AND progress NOT IN ('unmask', 'dropped')`,
        [r.id],
      )) as { owing: number }[];
      return owing === 1;
    });
    const id = (await roundRow(n))!.id;
    const lock = db.createQueryRunner();
    await lock.connect();
    await lock.startTransaction();
    await lock.query(lockSql, [id]);
    h.release();
    await waitFor(async () => {
      const [{ c }] = (await db.query(
        `SELECT count(*)::int AS c FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND query LIKE $1`,
        [waiting],
      )) as { c: number }[];
      return c > 0;
    });
    const stateAtKill = (await roundRow(n))!.state;
    await srv.kill();
    // The dead server's transaction gets the rows, finds its client gone and rolls back.
    await lock.rollbackTransaction();
    await lock.release();
    await srv.start();
    await endsOnce(n);
    expect((await roundRow(n))!.state).toBe('settled');
    const onChain = await settlementsOn(chain, bountyId);
    expect([...onChain.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: n }, (_, i) => i + 1),
    );
    expect([...onChain.values()].every((v) => v.records === 1)).toBe(true);
    return stateAtKill;
  }

  it('killed inside scoring, its transaction waiting on a lock: scored and settled once', async () => {
    // Scoring writes every member's score and reward in one transaction: hold the rows of
    // everyone who answered (the slow agent's own row stays free for its answer).
    const state = await killWhileWaiting(
      7,
      `SELECT 1 FROM "${schema}".participant WHERE round_id = $1 AND progress = 'unmask' FOR UPDATE`,
      'UPDATE %"participant"%',
    );
    expect(state).toBe('aggregated');
  });

  it('killed inside the aggregation transaction: aggregated again, settled once', async () => {
    // The close of the unmask stage stores each group's sum, then deletes the group's stage
    // messages: hold those rows (the slow agent's answer is a new row, which no lock stops).
    const state = await killWhileWaiting(
      8,
      `SELECT 1 FROM "${schema}".stage_message
        WHERE group_id IN (SELECT id FROM "${schema}".round_group WHERE round_id = $1) FOR UPDATE`,
      'DELETE FROM stage_message%',
    );
    // Nothing of the aggregation had committed when it died.
    expect(state).toBe('unmask');
  });
});
