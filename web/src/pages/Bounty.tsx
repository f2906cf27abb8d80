/**
 * One bounty: live round progress (the `/watch` namespace), validation metric per round, the rounds
 * with their groups and receipts, contributors with score and rewards, model versions with hash and
 * download links.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  api,
  modelFileUrl,
  type BountySummary,
  type Contributor,
  type ModelVersionRow,
  type RoundRow,
} from '../api.js';
import { licenceTerms, versionRating, type Licence } from '../licence.js';
import { Hash } from '../components/Hash.js';
import { MetricChart } from '../components/MetricChart.js';
import { Stars } from '../components/Stars.js';
import { Failure, StatusBadge } from '../components/Status.js';
import { formatInt, formatMs, formatNumber, formatTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { useLiveRounds, type LiveStatus, type RoundProgress } from '../live.js';
import {
  accuracySeries,
  metricOf,
  roundValue,
  stageDurations,
  validationSeries,
} from '../metrics.js';
import { Link, href } from '../router.js';

/** Round states in the order they run (server/db/entities.ts RoundState; `open` is entered as `keys`). */
const STATES = [
  'keys',
  'shares',
  'masked',
  'confirm',
  'unmask',
  'aggregated',
  'scored',
  'settled',
] as const;
/** Stages where members answer, and what each answer is. */
const AGENT_STAGES = ['keys', 'shares', 'masked', 'confirm', 'unmask'] as const;
const STATE_LABEL: Record<string, string> = {
  keys: 'advertise keys',
  shares: 'share keys',
  masked: 'masked input',
  confirm: 'consistency check',
  unmask: 'unmask',
  aggregated: 'aggregated',
  scored: 'scored',
  settled: 'settled on chain',
  aborted: 'aborted',
};

interface Data {
  bounty: BountySummary;
  rounds: RoundRow[];
  contributors: Contributor[];
  versions: ModelVersionRow[];
}

async function loadBounty(id: number): Promise<Data> {
  const [bounty, rounds, contributors, versions] = await Promise.all([
    api.bounty(id),
    api.rounds(id),
    api.contributors(id),
    api.models(id),
  ]);
  return { bounty, rounds, contributors, versions };
}

export function Bounty({ id }: { id: number }) {
  const live = useLiveRounds(id);
  // Reload the listings whenever a round changes state (new round, aggregated, scored, settled);
  // without the live socket, every 2 s.
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (live.status === 'live') return;
    const t = setInterval(() => setTick((n) => n + 1), 2000);
    return () => clearInterval(t);
  }, [live.status]);
  const stateKey = live.rounds.map((r) => `${r.id}:${r.state}`).join(',');
  const data = useLoad(() => loadBounty(id), [id, stateKey, tick]);
  const licence = useLoad(() => licenceTerms(id), [id]);
  const series = useMemo(
    () => (data.state === 'ok' ? validationSeries(data.value.rounds) : null),
    [data],
  );
  const accuracy = useMemo(
    () => (data.state === 'ok' ? accuracySeries(data.value.rounds) : null),
    [data],
  );

  if (data.state === 'loading') return <p aria-busy="true">Loading bounty #{id}…</p>;
  if (data.state === 'error') {
    return (
      <>
        <h1 tabIndex={-1}>Bounty #{id}</h1>
        <Failure error={data.error} />
      </>
    );
  }
  const { bounty, rounds, contributors, versions } = data.value;
  const current = live.rounds[live.rounds.length - 1];
  return (
    <>
      <nav aria-label="breadcrumb">
        <ul>
          <li>
            <Link href={href.catalogue()}>Catalogue</Link>
          </li>
          <li>Bounty #{id}</li>
        </ul>
      </nav>
      <header class="page-head">
        <h1 tabIndex={-1}>Bounty #{bounty.id}</h1>
        <StatusBadge status={bounty.status} />
      </header>
      <Facts
        bounty={bounty}
        rounds={rounds}
        licence={licence.state === 'ok' ? licence.value : null}
      />

      <section aria-labelledby="live-h">
        <h2 id="live-h">
          Current round <LiveBadge status={live.status} />
        </h2>
        {current ? <LiveRound round={current} /> : <p class="muted">No round has opened yet.</p>}
      </section>

      <section aria-labelledby="chart-h">
        <h2 id="chart-h">Validation {series?.metric ?? 'loss'} per round</h2>
        <p class="muted">
          Measured by the aggregator on the sponsor’s validation set: the model with every group’s
          update of the round (the full coalition of the scoring record).
        </p>
        {series && <MetricChart series={series} />}
        {accuracy && accuracy.points.length > 0 && (
          <>
            <h3>Validation accuracy per round</h3>
            <MetricChart series={accuracy} kind="chart-accuracy" />
          </>
        )}
      </section>

      <section aria-labelledby="rounds-h">
        <h2 id="rounds-h">Rounds</h2>
        <RoundsTable rounds={rounds} />
      </section>

      <section aria-labelledby="audit-h">
        <h2 id="audit-h">Audit</h2>
        <AuditStatus
          bountyId={bounty.id}
          settled={rounds.filter((r) => r.state === 'settled').length}
        />
      </section>

      <section aria-labelledby="contrib-h">
        <h2 id="contrib-h">Contributors</h2>
        <ContributorsTable contributors={contributors} />
      </section>

      <section aria-labelledby="versions-h">
        <h2 id="versions-h">Model versions</h2>
        <VersionsTable
          bountyId={bounty.id}
          versions={versions}
          licence={licence.state === 'ok' ? licence.value : null}
        />
      </section>
    </>
  );
}

function Facts({
  bounty: b,
  rounds,
  licence,
}: {
  bounty: BountySummary;
  rounds: RoundRow[];
  licence: Licence | null;
}) {
  const recorded = rounds.filter((r) => r.ledgerRound !== null).length;
  return (
    <dl class="facts">
      <div>
        <dt>rounds recorded</dt>
        <dd>
          {recorded} of {b.roundsTotal}
        </dd>
      </div>
      <div>
        <dt>budget</dt>
        <dd>{formatInt(b.budget)} units</dd>
      </div>
      <div>
        <dt>licence</dt>
        <dd>{licence ? licence.kind : '—'}</dd>
      </div>
      <div>
        <dt>strategy</dt>
        <dd>{b.strategy.name}</dd>
      </div>
      <div>
        <dt>groups</dt>
        <dd>
          ≥ {b.minGroupSize} members, ≤ {b.maxGroups} groups, ≥ {b.minParticipants} participants
        </dd>
      </div>
      <div>
        <dt>local training</dt>
        <dd>
          {b.train.epochs} epoch(s), batch {b.train.batchSize}, lr {b.train.learningRate}
        </dd>
      </div>
      <div>
        <dt>sponsor</dt>
        <dd>
          <Hash value={b.sponsor} />
        </dd>
      </div>
      <div>
        <dt>validation set hash</dt>
        <dd>
          <Hash value={b.validationHash} copy />
        </dd>
      </div>
    </dl>
  );
}

/**
 * The audit's verdict over the rounds settled so far, run in this browser against the chain the
 * aggregator names (the Audit page lets the user choose the chain and the record).
 */
function AuditStatus({ bountyId, settled }: { bountyId: number; settled: number }) {
  const verdict = useLoad(async () => {
    if (settled === 0) return null;
    const [{ runAudit }, chain] = await Promise.all([import('../audit-run.js'), api.chain()]);
    return (
      await runAudit({ rpcUrl: chain.rpcUrl, bounties: chain.contracts.bounties }, BigInt(bountyId))
    ).report;
  }, [bountyId, settled]);
  const link = <Link href={href.audit(bountyId)}>re-derive every reward in your browser</Link>;
  if (verdict.state === 'loading') return <p aria-busy="true">Auditing the settled rounds…</p>;
  if (verdict.state === 'error')
    return (
      <p class="audit-status" data-verdict="error">
        <span class="badge badge-fail">not audited</span> {verdict.error.message} · {link}
      </p>
    );
  if (verdict.value === null)
    return <p class="muted audit-status">No round is settled on chain yet · {link}</p>;
  const r = verdict.value;
  return (
    <p class="audit-status" data-verdict={r.pass ? 'pass' : 'fail'}>
      <span class={`badge badge-${r.pass ? 'pass' : 'fail'}`}>{r.pass ? 'PASS' : 'FAIL'}</span>{' '}
      {r.contributions} rewards in {r.roundsOnChain} round(s) re-derived from the published record
      and compared with the chain, {r.findings.length} finding(s) · {link}
    </p>
  );
}

function LiveBadge({ status }: { status: LiveStatus }) {
  const text =
    status === 'live' ? 'live' : status === 'connecting' ? 'connecting' : 'offline, polling';
  return (
    <span class={`badge live-${status}`} role="status">
      {text}
    </span>
  );
}

function LiveRound({ round: r }: { round: RoundProgress }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, []);
  const durations = new Map(stageDurations(r.timing, STATES, now).map((d) => [d.state, d]));
  const at = r.state === 'aborted' ? -1 : STATES.indexOf(r.state as (typeof STATES)[number]);
  const deadline = r.stageDeadline ? Date.parse(r.stageDeadline) - now : null;
  return (
    <div class="live" data-round={r.number} data-state={r.state}>
      <p>
        <strong>Round {r.ledgerRound ?? `attempt ${r.number}`}</strong> from model v{r.modelVersion}
        : <span class="state">{STATE_LABEL[r.state] ?? r.state}</span>
        {r.abortReason && <> ({r.abortReason})</>}
        {deadline !== null && deadline > 0 && at >= 0 && at < 4 && (
          <span class="muted"> · stage closes in {formatMs(deadline)}</span>
        )}
      </p>
      <ol class="stepper" aria-label="round stages">
        {STATES.map((s, i) => {
          const d = durations.get(s);
          const cls = i < at ? 'done' : i === at ? 'current' : 'todo';
          return (
            <li class={cls} key={s} aria-current={i === at ? 'step' : undefined}>
              <span class="name">{STATE_LABEL[s]}</span>
              <span class="time">
                {s === 'settled' && i === at
                  ? 'done'
                  : d
                    ? formatMs(d.ms) + (i === at ? '…' : '')
                    : ''}
              </span>
            </li>
          );
        })}
      </ol>
      <div class="scroll">
        <table class="groups">
          <caption class="muted">Members who have answered each stage, per group</caption>
          <thead>
            <tr>
              <th scope="col">group</th>
              <th scope="col">members</th>
              <th scope="col">threshold</th>
              {AGENT_STAGES.map((s) => (
                <th scope="col" key={s}>
                  {STATE_LABEL[s]}
                </th>
              ))}
              <th scope="col">state</th>
            </tr>
          </thead>
          <tbody>
            {r.groups.map((g) => {
              const answered = (stage: string) => {
                const k = AGENT_STAGES.indexOf(stage as (typeof AGENT_STAGES)[number]);
                return Object.entries(g.progress)
                  .filter(([p]) => AGENT_STAGES.indexOf(p as (typeof AGENT_STAGES)[number]) >= k)
                  .reduce((n, [, c]) => n + c, 0);
              };
              const dropouts = g.state === 'aggregated' ? g.members - g.survivors : null;
              return (
                <tr key={g.index}>
                  <th scope="row">{g.index + 1}</th>
                  <td>{g.members}</td>
                  <td>{g.threshold}</td>
                  {AGENT_STAGES.map((s) => (
                    <td key={s}>
                      {answered(s)}/{g.members}
                    </td>
                  ))}
                  <td>
                    {g.state}
                    {dropouts ? `, ${dropouts} dropped out` : ''}
                    {g.dropReason ? ` (${g.dropReason})` : ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function RoundsTable({ rounds }: { rounds: RoundRow[] }) {
  if (rounds.length === 0) return <p class="muted">No rounds yet.</p>;
  return (
    <div class="scroll">
      <table class="rounds">
        <thead>
          <tr>
            <th scope="col">round</th>
            <th scope="col">state</th>
            <th scope="col">groups</th>
            <th scope="col">contributors</th>
            <th scope="col">validation</th>
            <th scope="col">time to aggregate</th>
            <th scope="col">on chain</th>
          </tr>
        </thead>
        <tbody>
          {[...rounds].reverse().map((r) => {
            const groups = r.groups ?? [];
            const shown =
              r.scoring && r.scoring.record.utilities.length > 0
                ? `${metricOf(r.scoring).name} ${formatNumber(roundValue(r.scoring))}`
                : '—';
            const tx = (r.receipts ?? []).find((c) => c.kind === 'recordRound') ?? r.receipts?.[0];
            const t = r.timing;
            return (
              <tr key={r.id} data-round={r.number}>
                <th scope="row">
                  {r.ledgerRound ?? <span class="muted">attempt {r.number}</span>}
                </th>
                <td>
                  {r.state}
                  {r.abortReason ? ` (${r.abortReason})` : ''}
                </td>
                <td>
                  {groups.filter((g) => g.state === 'aggregated').length}/{groups.length}
                </td>
                <td>
                  {groups.reduce((n, g) => n + g.survivors.length, 0)}/
                  {groups.reduce((n, g) => n + g.members.length, 0)}
                </td>
                <td>{shown}</td>
                <td>{t.aggregated && t.keys ? formatMs(t.aggregated - t.keys) : '—'}</td>
                <td>{tx ? <Hash value={tx.txHash} copy /> : '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function ContributorsTable({ contributors }: { contributors: Contributor[] }) {
  if (contributors.length === 0)
    return <p class="muted">Nobody has been picked for a round yet.</p>;
  return (
    <div class="scroll">
      <table class="contributors">
        <thead>
          <tr>
            <th scope="col">address</th>
            <th scope="col">rounds picked</th>
            <th scope="col">contributed</th>
            <th scope="col">score sum</th>
            <th scope="col">rewards (units)</th>
          </tr>
        </thead>
        <tbody>
          {contributors.map((c) => (
            <tr key={c.address}>
              <th scope="row">
                <Link href={href.contributor(c.address)} aria-label={`contributor ${c.address}`}>
                  <code>
                    {c.address.slice(0, 10)}…{c.address.slice(-6)}
                  </code>
                </Link>
              </th>
              <td>{c.rounds}</td>
              <td>{c.contributed}</td>
              <td>{formatNumber(Number(c.scoreSum))}</td>
              <td>{formatInt(c.rewards)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function VersionsTable({
  bountyId,
  versions,
  licence,
}: {
  bountyId: number;
  versions: ModelVersionRow[];
  licence: Licence | null;
}) {
  const gated = licence?.kind !== 'open';
  // Versions 1, 2, ... are published on chain (version 0 is the sponsor's initial model).
  const ratings = useLoad(
    () =>
      Promise.all(
        versions.map((v) =>
          v.version > 0 ? versionRating(bountyId, v.version).catch(() => null) : null,
        ),
      ),
    [bountyId, versions.length],
  );
  return (
    <>
      {gated && (
        <p class="muted">
          Downloads of this model need a licence holder’s signed request (
          <code>tributary model download {bountyId}</code> signs it and checks the hash on chain).
        </p>
      )}
      <div class="scroll">
        <table class="versions">
          <thead>
            <tr>
              <th scope="col">version</th>
              <th scope="col">artifact hash</th>
              <th scope="col">published</th>
              <th scope="col">rating</th>
              <th scope="col">download</th>
            </tr>
          </thead>
          <tbody>
            {[...versions].reverse().map((v) => {
              const rating = ratings.state === 'ok' ? ratings.value[versions.indexOf(v)] : null;
              return (
                <tr key={v.version}>
                  <th scope="row">v{v.version}</th>
                  <td>
                    <Hash value={v.hash} copy />
                  </td>
                  <td>{formatTime(v.createdAt)}</td>
                  <td class="rating">
                    {rating?.mean != null ? (
                      <Stars rating={rating} />
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                  <td>
                    <a href={modelFileUrl(bountyId, v.version, 'model.json')} download>
                      model.json
                    </a>{' '}
                    ·{' '}
                    <a href={modelFileUrl(bountyId, v.version, 'weights.bin')} download>
                      weights.bin
                    </a>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}
