/** Every bounty's model as a card: status, rounds, versions, latest validation metric, licence; search and filters. */
import { useMemo, useState } from 'preact/hooks';
import { api, type BountySummary, type ModelVersionRow, type RoundRow } from '../api.js';
import {
  licenceTerms,
  LICENCE_KINDS,
  versionRating,
  type Licence,
  type Rating,
} from '../licence.js';
import { Stars } from '../components/Stars.js';
import { Failure, StatusBadge } from '../components/Status.js';
import { formatInt, formatNumber, shortHex } from '../format.js';
import { useLoad } from '../hooks.js';
import { validationSeries } from '../metrics.js';
import { formatParams, taskOf, type Task } from '../task.js';
import { Link, href } from '../router.js';

interface Card {
  bounty: BountySummary;
  rounds: RoundRow[];
  versions: ModelVersionRow[];
  licence: Licence | null;
  /** Ratings of the latest version, from the ModelRegistry. */
  rating: Rating | null;
  /** Model size and task, from the bounty's spec. */
  task: Task | null;
}

async function loadCards(): Promise<Card[]> {
  const bounties = await api.bounties();
  return Promise.all(
    bounties.map(async (bounty) => {
      const [rounds, versions, licence, task] = await Promise.all([
        api.rounds(bounty.id),
        api.models(bounty.id),
        licenceTerms(bounty.id).catch(() => null),
        api
          .spec(bounty.id)
          .then(taskOf)
          .catch(() => null),
      ]);
      const latest = versions[versions.length - 1];
      const rating =
        latest && latest.version > 0
          ? await versionRating(bounty.id, latest.version).catch(() => null)
          : null;
      return { bounty, rounds, versions, licence, rating, task };
    }),
  );
}

function matches(c: Card, q: string): boolean {
  if (!q) return true;
  const b = c.bounty;
  const text = [
    `#${b.id}`,
    String(b.id),
    b.sponsor,
    b.status,
    b.strategy.name,
    c.licence?.kind ?? '',
  ]
    .join(' ')
    .toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .every((w) => text.includes(w));
}

export function Catalogue() {
  const cards = useLoad(loadCards, []);
  const [query, setQuery] = useState('');
  const [status, setStatus] = useState('all');
  const [licence, setLicence] = useState('all');
  const shown = useMemo(
    () =>
      cards.state === 'ok'
        ? cards.value.filter(
            (c) =>
              matches(c, query.trim()) &&
              (status === 'all' || c.bounty.status === status) &&
              (licence === 'all' || c.licence?.kind === licence),
          )
        : [],
    [cards, query, status, licence],
  );
  return (
    <>
      <h1 tabIndex={-1}>Models in training</h1>
      <p class="lead">
        Every bounty a sponsor funded on chain, with the model its data owners train together.
      </p>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input
            type="search"
            name="q"
            placeholder="id, sponsor, strategy…"
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
          />
        </label>
        <label>
          Status
          <select name="status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="all">all</option>
            <option value="open">open</option>
            <option value="finished">finished</option>
          </select>
        </label>
        <label>
          Licence
          <select
            name="licence"
            value={licence}
            onChange={(e) => setLicence(e.currentTarget.value)}
          >
            <option value="all">all</option>
            {LICENCE_KINDS.map((k) => (
              <option value={k} key={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
      </form>
      {cards.state === 'loading' && <p aria-busy="true">Loading bounties…</p>}
      {cards.state === 'error' && <Failure error={cards.error} />}
      {cards.state === 'ok' && (
        <>
          <p class="muted" aria-live="polite">
            {shown.length} of {cards.value.length} bounties
          </p>
          <div class="cards">
            {shown.map((c) => (
              <BountyCard card={c} key={c.bounty.id} />
            ))}
          </div>
        </>
      )}
    </>
  );
}

function BountyCard({ card }: { card: Card }) {
  const { bounty: b, rounds, versions, licence, rating, task } = card;
  const recorded = rounds.filter((r) => r.ledgerRound !== null).length;
  const contributors = new Set(rounds.flatMap((r) => (r.groups ?? []).flatMap((g) => g.survivors)));
  const series = validationSeries(rounds);
  const last = series.points[series.points.length - 1];
  const latest = versions[versions.length - 1];
  return (
    <article class="card" data-bounty={b.id}>
      <header>
        <h2>
          <Link href={href.bounty(b.id)}>Bounty #{b.id}</Link>
        </h2>
        <StatusBadge status={b.status} />
      </header>
      <dl>
        <dt>task</dt>
        <dd data-field="task">
          {task
            ? `${task.inputShape ? `input ${task.inputShape.join('×')}` : 'input —'}, ${task.classes ?? '?'} classes`
            : '—'}
        </dd>
        <dt>model size</dt>
        <dd data-field="size">{task ? `${formatParams(task.params)} parameters` : '—'}</dd>
        <dt>rounds</dt>
        <dd>
          {recorded} of {b.roundsTotal}
        </dd>
        <dt>model versions</dt>
        <dd>
          {versions.length}
          {latest && (
            <>
              {' '}
              (latest v{latest.version}, <code title={latest.hash}>{shortHex(latest.hash, 4)}</code>
              )
            </>
          )}
        </dd>
        <dt>validation {series.metric}</dt>
        <dd>{last ? `${formatNumber(last.value)} after round ${last.round}` : '—'}</dd>
        <dt>contributors</dt>
        <dd>{contributors.size}</dd>
        <dt>rating</dt>
        <dd>
          {rating?.mean != null ? <Stars rating={rating} /> : <span class="muted">not rated</span>}
        </dd>
        <dt>licence</dt>
        <dd>
          {licence
            ? licence.kind === 'paid'
              ? `paid, ${formatInt(licence.price)} units`
              : licence.kind
            : 'unknown (chain unreachable)'}
        </dd>
        <dt>strategy</dt>
        <dd>
          {b.strategy.name}, groups of ≥ {b.minGroupSize}, ≤ {b.maxGroups} groups
        </dd>
        <dt>budget</dt>
        <dd>{formatInt(b.budget)} units</dd>
        <dt>sponsor</dt>
        <dd>
          <code title={b.sponsor}>{shortHex(b.sponsor, 4)}</code>
        </dd>
      </dl>
    </article>
  );
}
