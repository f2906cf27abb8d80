/**
 * One address across every bounty: the rounds it was picked for, whether its update was summed, its
 * score and reward (from the aggregator), and its stakes, claims, slashes and licence revenue (from
 * the chain's events, account-events.ts).
 */
import { api, type BountySummary, type Contributor as Totals, type RoundRow } from '../api.js';
import { Hash } from '../components/Hash.js';
import { Failure } from '../components/Status.js';
import { formatInt, formatNumber } from '../format.js';
import { useLoad } from '../hooks.js';
import { Link, href } from '../router.js';
import type { AccountEvent, EventKind } from '../account-events.js';

const KIND_LABEL: Record<EventKind, string> = {
  stake: 'staked (joined)',
  claim: 'reward claimed',
  slash: 'stake slashed',
  withdraw: 'stake withdrawn',
  revenue: 'licence revenue claimed',
  licence: 'licence bought',
};

const loadEvents = async (address: string): Promise<AccountEvent[]> =>
  (await import('../account-events.js')).accountEvents(address);

function ChainEvents({ address }: { address: string }) {
  const events = useLoad(() => loadEvents(address), [address]);
  return (
    <section aria-labelledby="chain-h">
      <h2 id="chain-h">On chain: stakes, claims, slashes</h2>
      {events.state === 'loading' && <p aria-busy="true">Reading the chain's events…</p>}
      {events.state === 'error' && <Failure error={events.error} />}
      {events.state === 'ok' &&
        (events.value.length === 0 ? (
          <p class="muted">No stake, claim, slash or licence event names this address.</p>
        ) : (
          <>
            <dl class="facts chain-totals">
              {(Object.keys(KIND_LABEL) as EventKind[]).map((k) => {
                const of = events.value.filter((e) => e.kind === k);
                return (
                  <div key={k} data-kind={k}>
                    <dt>{KIND_LABEL[k]}</dt>
                    <dd>
                      {formatInt(of.reduce((a, e) => a + e.amount, 0n))} units
                      <span class="muted"> ({of.length})</span>
                    </dd>
                  </div>
                );
              })}
            </dl>
            <div class="scroll">
              <table class="chain-events">
                <thead>
                  <tr>
                    <th scope="col">event</th>
                    <th scope="col">bounty</th>
                    <th scope="col">round</th>
                    <th scope="col">amount (units)</th>
                    <th scope="col">block</th>
                    <th scope="col">transaction</th>
                  </tr>
                </thead>
                <tbody>
                  {events.value.map((e) => (
                    <tr key={`${e.tx}:${e.logIndex}`} data-kind={e.kind}>
                      <td>{KIND_LABEL[e.kind]}</td>
                      <td>
                        <Link href={href.bounty(e.bountyId)}>#{e.bountyId}</Link>
                      </td>
                      <td>{e.round ?? '—'}</td>
                      <td>{formatInt(e.amount)}</td>
                      <td>{e.blockNumber}</td>
                      <td>
                        <Hash value={e.tx} copy />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        ))}
    </section>
  );
}

interface Row {
  bountyId: number;
  round: RoundRow;
  group: number;
  contributed: boolean;
  score: string | undefined;
  reward: string | undefined;
  tx: string | undefined;
}

interface Data {
  bounties: { bounty: BountySummary; totals: Totals | undefined }[];
  rows: Row[];
}

async function loadContributor(address: string): Promise<Data> {
  const lower = address.toLowerCase();
  const bounties = await api.bounties();
  const per = await Promise.all(
    bounties.map(async (bounty) => {
      const [rounds, contributors] = await Promise.all([
        api.rounds(bounty.id),
        api.contributors(bounty.id),
      ]);
      const totals = contributors.find((c) => c.address.toLowerCase() === lower);
      const rows: Row[] = [];
      for (const round of rounds) {
        for (const g of round.groups ?? []) {
          const me = g.members.find((m) => m.toLowerCase() === lower);
          if (!me) continue;
          rows.push({
            bountyId: bounty.id,
            round,
            group: g.index,
            contributed: g.survivors.includes(me),
            score: round.scoring?.fixedScores[me],
            reward: round.scoring?.rewards[me],
            tx: (round.receipts ?? []).find((c) => c.kind === 'recordRound')?.txHash,
          });
        }
      }
      return { bounty, totals, rows };
    }),
  );
  return {
    bounties: per.filter((p) => p.totals).map(({ bounty, totals }) => ({ bounty, totals })),
    rows: per.flatMap((p) => p.rows),
  };
}

export function Contributor({ address }: { address: string }) {
  const data = useLoad(() => loadContributor(address), [address]);
  return (
    <>
      <nav aria-label="breadcrumb">
        <ul>
          <li>
            <Link href={href.catalogue()}>Catalogue</Link>
          </li>
          <li>Contributor</li>
        </ul>
      </nav>
      <h1 tabIndex={-1}>
        Contributor <Hash value={address} copy />
      </h1>
      {data.state === 'loading' && <p aria-busy="true">Loading…</p>}
      {data.state === 'error' && <Failure error={data.error} />}
      {data.state === 'ok' && (
        <>
          <section aria-labelledby="totals-h">
            <h2 id="totals-h">Bounties</h2>
            {data.value.bounties.length === 0 ? (
              <p class="muted">This address has not been picked for any round.</p>
            ) : (
              <table class="totals">
                <thead>
                  <tr>
                    <th scope="col">bounty</th>
                    <th scope="col">rounds picked</th>
                    <th scope="col">contributed</th>
                    <th scope="col">score sum</th>
                    <th scope="col">rewards (units)</th>
                  </tr>
                </thead>
                <tbody>
                  {data.value.bounties.map(({ bounty, totals }) => (
                    <tr key={bounty.id}>
                      <th scope="row">
                        <Link href={href.bounty(bounty.id)}>#{bounty.id}</Link>
                      </th>
                      <td>{totals!.rounds}</td>
                      <td>{totals!.contributed}</td>
                      <td>{formatNumber(Number(totals!.scoreSum))}</td>
                      <td>{formatInt(totals!.rewards)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section aria-labelledby="rounds-h">
            <h2 id="rounds-h">Rounds</h2>
            {data.value.rows.length > 0 && (
              <div class="scroll">
                <table class="contributor-rounds">
                  <thead>
                    <tr>
                      <th scope="col">bounty</th>
                      <th scope="col">round</th>
                      <th scope="col">group</th>
                      <th scope="col">update summed</th>
                      <th scope="col">score (fixed point)</th>
                      <th scope="col">reward (units)</th>
                      <th scope="col">recorded in</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.value.rows.map((r) => (
                      <tr key={`${r.bountyId}:${r.round.id}`}>
                        <td>
                          <Link href={href.bounty(r.bountyId)}>#{r.bountyId}</Link>
                        </td>
                        <td>
                          {r.round.ledgerRound ?? `attempt ${r.round.number} (${r.round.state})`}
                        </td>
                        <td>{r.group + 1}</td>
                        <td>{r.contributed ? 'yes' : 'no (dropped out)'}</td>
                        <td>{r.score ?? '—'}</td>
                        <td>{r.reward !== undefined ? formatInt(r.reward) : '—'}</td>
                        <td>{r.tx ? <Hash value={r.tx} copy /> : '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          <ChainEvents address={address} />
        </>
      )}
    </>
  );
}
