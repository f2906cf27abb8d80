/**
 * The reward audit of one bounty, run in the browser: `tributary audit` without the command line.
 * It reads the recorded rounds straight from a chain RPC (the aggregator's by default, or one the
 * user names) and audits the aggregator's published scoring record, or one the user pastes or
 * uploads; per round and client it shows the derived and the paid amounts and the verdict, and
 * every finding names its round, client and, for a changed record, the field.
 */
import type { TargetedEvent } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AuditRow, Finding } from '../../../client-agent/audit/index.js';
import { api } from '../api.js';
import type { AuditRun } from '../audit-run.js';
import { Hash } from '../components/Hash.js';
import { formatInt, formatMs } from '../format.js';
import { Link, href } from '../router.js';

type Source = 'published' | 'own';

type State =
  | { state: 'idle' }
  | { state: 'running' }
  | { state: 'done'; run: AuditRun; source: Source; n: number }
  | { state: 'error'; error: Error; source: Source };

const loadRunner = () => import('../audit-run.js');

export function Audit({ id }: { id: number }) {
  const [rpcUrl, setRpcUrl] = useState('');
  const [contract, setContract] = useState('');
  const [source, setSource] = useState<Source>('published');
  const [text, setText] = useState('');
  const [result, setResult] = useState<State>({ state: 'idle' });
  const started = useRef(false);
  const runs = useRef(0);

  async function run(src: Source, rpc = rpcUrl, bountiesAt = contract) {
    setResult({ state: 'running' });
    try {
      const { runAudit } = await loadRunner();
      const out = await runAudit(
        { rpcUrl: rpc.trim(), bounties: bountiesAt.trim() },
        BigInt(id),
        src === 'own' ? text : undefined,
      );
      setResult({ state: 'done', run: out, source: src, n: ++runs.current });
    } catch (e) {
      setResult({
        state: 'error',
        error: e instanceof Error ? e : new Error(String(e)),
        source: src,
      });
    }
  }

  // Defaults from the aggregator's GET /chain, then one audit of the published record.
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    api.chain().then(
      (c) => {
        setRpcUrl(c.rpcUrl);
        setContract(c.contracts.bounties);
        void run('published', c.rpcUrl, c.contracts.bounties);
      },
      (e: unknown) =>
        setResult({
          state: 'error',
          error: new Error(
            `the aggregator does not name its chain (${e instanceof Error ? e.message : String(e)}); enter an RPC URL and the Bounties contract`,
          ),
          source: 'published',
        }),
    );
  }, []);

  const onSubmit = (e: TargetedEvent<HTMLFormElement>) => {
    e.preventDefault();
    void run(source);
  };

  const onFile = async (e: TargetedEvent<HTMLInputElement>) => {
    const file = e.currentTarget.files?.[0];
    if (!file) return;
    const body = await file.text();
    let shown = body;
    try {
      shown = JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      // not JSON: shown as it is, and the audit says why it cannot use it
    }
    setText(shown);
    setSource('own');
  };

  const audited = result.state === 'done' ? result.run.record : null;
  const recordJson = useMemo(() => (audited ? JSON.stringify(audited, null, 2) : ''), [audited]);
  const download = useMemo(
    () =>
      recordJson ? URL.createObjectURL(new Blob([recordJson], { type: 'application/json' })) : null,
    [recordJson],
  );
  useEffect(() => () => void (download && URL.revokeObjectURL(download)), [download]);

  return (
    <>
      <nav aria-label="breadcrumb">
        <ul>
          <li>
            <Link href={href.catalogue()}>Catalogue</Link>
          </li>
          <li>
            <Link href={href.bounty(id)}>Bounty #{id}</Link>
          </li>
          <li>Audit</li>
        </ul>
      </nav>
      <header class="page-head">
        <h1 tabIndex={-1}>Audit of bounty #{id}</h1>
      </header>
      <p class="lead">
        Every reward re-derived in this browser from the scoring record with the aggregator’s own{' '}
        <code>scoreRound</code>, and compared with the <code>ContributionRecorded</code> events read
        straight from the chain; the record must be the one each contribution on chain commits to.
        The same audit as <code>tributary audit {id}</code>.
      </p>

      <form class="audit-form" onSubmit={onSubmit} aria-labelledby="sources-h">
        <h2 id="sources-h">Sources</h2>
        <div class="grid">
          <label>
            Chain RPC URL
            <input
              name="rpc"
              type="url"
              required
              value={rpcUrl}
              onInput={(e) => setRpcUrl(e.currentTarget.value)}
              aria-describedby="rpc-help"
            />
            <small id="rpc-help">
              Default: the one the aggregator names. Use your own node to trust no one.
            </small>
          </label>
          <label>
            Bounties contract
            <input
              name="contract"
              required
              pattern="0x[0-9a-fA-F]{40}"
              value={contract}
              onInput={(e) => setContract(e.currentTarget.value)}
            />
          </label>
        </div>
        <fieldset>
          <legend>Scoring record</legend>
          <label>
            <input
              type="radio"
              name="source"
              value="published"
              checked={source === 'published'}
              onChange={() => setSource('published')}
            />
            the one the aggregator publishes (<code>GET /bounties/{id}/rounds</code>)
          </label>
          <label>
            <input
              type="radio"
              name="source"
              value="own"
              checked={source === 'own'}
              onChange={() => setSource('own')}
            />
            a record of my own (<code>tributary-scoring-record/2</code>, pasted or uploaded)
          </label>
        </fieldset>
        {source === 'own' && (
          <div class="own-record">
            <label>
              Record JSON
              <textarea
                name="record"
                rows={10}
                spellcheck={false}
                value={text}
                onInput={(e) => setText(e.currentTarget.value)}
                placeholder='{ "format": "tributary-scoring-record/2", "bountyId": "1", "rounds": [...] }'
              />
            </label>
            <label>
              or a file
              <input
                type="file"
                name="record-file"
                accept="application/json,.json"
                onChange={onFile}
              />
            </label>
          </div>
        )}
        <div class="actions">
          <button
            type="submit"
            aria-busy={result.state === 'running'}
            disabled={result.state === 'running'}
          >
            {result.state === 'running' ? 'Auditing…' : 'Run the audit'}
          </button>
          {download && (
            <a
              href={download}
              download={`scoring-record-${id}.json`}
              role="button"
              class="secondary outline"
            >
              Download the audited record
            </a>
          )}
          {recordJson && (
            <button
              type="button"
              class="secondary outline"
              onClick={() => {
                setText(recordJson);
                setSource('own');
              }}
            >
              Edit a copy of it
            </button>
          )}
        </div>
      </form>

      <section aria-labelledby="result-h" aria-live="polite">
        <h2 id="result-h">Result</h2>
        {result.state === 'idle' && <p class="muted">Not run yet.</p>}
        {result.state === 'running' && (
          <p aria-busy="true">Reading the chain and re-deriving every reward…</p>
        )}
        {result.state === 'error' && (
          <div class="verdict verdict-error" data-verdict="error" role="alert">
            <strong>Could not audit:</strong> {result.error.message}
          </div>
        )}
        {result.state === 'done' && <Report run={result.run} source={result.source} n={result.n} />}
      </section>
    </>
  );
}

function Report({ run, source, n }: { run: AuditRun; source: Source; n: number }) {
  const { report: r, chain } = run;
  const rounds = [...new Set(r.rows.map((x) => x.round))].sort((a, b) => a - b);
  const amount = amountFormat(chain.roundBudget, chain.decimals);
  const tx = new Map(
    chain.rounds.map((c) => [Number(c.round), c.contributions[0]?.transactionHash]),
  );
  return (
    <>
      <article
        class={`verdict verdict-${r.pass ? 'pass' : 'fail'}`}
        data-verdict={r.pass ? 'pass' : 'fail'}
        data-run={n}
        data-total-ms={(run.ms.chain + run.ms.record + run.ms.audit).toFixed(2)}
        data-chain-ms={run.ms.chain.toFixed(2)}
        data-audit-ms={run.ms.audit.toFixed(2)}
      >
        <p class="verdict-word">{r.pass ? 'PASS' : 'FAIL'}</p>
        <p>
          {source === 'own' ? 'Your record' : 'The published record'}: {r.roundsOnChain} round(s) on
          chain, {r.roundsInRecord} in the record, {r.contributions} contributions,{' '}
          <strong>{r.findings.length} finding(s)</strong>
          {run.pending > 0 && <>; {run.pending} scored round(s) not yet on chain, not audited</>}.
        </p>
        <p class="muted small">
          chain {chain.chainId}, read in {formatMs(run.ms.chain)}; audit {formatMs(run.ms.audit)};
          round budget {amount.show(chain.roundBudget)} {amount.unit}
        </p>
      </article>
      {r.findings.length > 0 && <Findings findings={r.findings} />}
      {rounds.map((n) => (
        <RoundTable
          key={n}
          round={n}
          rows={r.rows.filter((x) => x.round === n)}
          tx={tx.get(n)}
          amount={amount}
          failed={r.findings.some((f) => f.round === n)}
        />
      ))}
    </>
  );
}

/**
 * Findings about the record as a whole (a changed field, a budget, a missing round) first: they
 * are the cause; the per-client reward and score differences that follow from them are counted,
 * marked in the tables and listed in full on request.
 */
function Findings({ findings }: { findings: Finding[] }) {
  const record = findings.filter((f) => !f.client);
  const perClient = findings.filter((f) => f.client);
  const kinds = [...new Set(perClient.map((f) => f.kind))].map(
    (k) => `${perClient.filter((f) => f.kind === k).length} ${k}`,
  );
  return (
    <>
      <h3>Findings</h3>
      {record.length > 0 && (
        <ul class="findings">
          {record.map((f, i) => (
            <FindingItem f={f} key={i} />
          ))}
        </ul>
      )}
      {perClient.length > 0 && (
        <details class="client-findings">
          <summary>{kinds.join(', ')}: per client, marked in the tables below</summary>
          <ul class="findings">
            {perClient.map((f, i) => (
              <FindingItem f={f} key={i} />
            ))}
          </ul>
        </details>
      )}
    </>
  );
}

function FindingItem({ f }: { f: Finding }) {
  return (
    <li data-kind={f.kind} data-round={f.round} data-fields={f.fields?.join(',') ?? ''}>
      <span class="badge badge-fail">{f.kind}</span> round {f.round}
      {f.client && (
        <>
          , <Link href={href.contributor(f.client)}>{f.client.slice(0, 10)}…</Link>
        </>
      )}
      {f.fields && (
        <>
          , changed:{' '}
          {f.fields
            .map((x) => <code key={x}>{x}</code>)
            .reduce((a, b) => (
              <>
                {a}, {b}
              </>
            ))}
        </>
      )}
      <br />
      <span class="muted">{f.message}</span>
    </li>
  );
}

interface AmountFormat {
  unit: 'tokens' | 'units';
  show: (v: bigint | null) => string;
}

/**
 * Amounts in tokens when a round pays at least one, else in the token's smallest units (a small
 * test budget in tokens would read 0.000000 everywhere).
 */
function amountFormat(roundBudget: bigint, decimals: number): AmountFormat {
  const one = 10n ** BigInt(decimals);
  if (roundBudget < one) return { unit: 'units', show: (v) => (v === null ? '—' : formatInt(v)) };
  return {
    unit: 'tokens',
    show: (v) => {
      if (v === null) return '—';
      const frac = (v % one).toString().padStart(decimals, '0').slice(0, 6).replace(/0+$/, '');
      return `${formatInt(v / one)}${frac ? '.' + frac : ''}`;
    },
  };
}

const scoreText = (v: bigint | null) => (v === null ? '—' : (Number(v) / 1e9).toFixed(6));

function RoundTable({
  round,
  rows,
  tx,
  amount,
  failed,
}: {
  round: number;
  rows: AuditRow[];
  tx: string | undefined;
  amount: AmountFormat;
  failed: boolean;
}) {
  return (
    <section class="audit-round" data-round={round} aria-labelledby={`round-${round}-h`}>
      <h3 id={`round-${round}-h`}>
        Round {round}{' '}
        <span class={`badge badge-${failed ? 'fail' : 'pass'}`}>{failed ? 'FAIL' : 'pass'}</span>
        {tx && (
          <span class="muted small">
            {' '}
            recorded in <Hash value={tx} copy />
          </span>
        )}
      </h3>
      <div class="scroll">
        <table class="audit">
          <thead>
            <tr>
              <th scope="col">client</th>
              <th scope="col">group</th>
              <th scope="col">weight</th>
              <th scope="col">score (chain)</th>
              <th scope="col">score (derived)</th>
              <th scope="col">paid on chain ({amount.unit})</th>
              <th scope="col">derived ({amount.unit})</th>
              <th scope="col">commitment</th>
              <th scope="col">result</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((x) => {
              const rewardDiffers = x.rewardOnChain !== x.rewardDerived;
              const scoreDiffers = x.scoreOnChain !== x.scoreDerived;
              return (
                <tr key={x.client} data-client={x.client} data-pass={String(x.pass)}>
                  <th scope="row">
                    <Link href={href.contributor(x.client)} aria-label={`contributor ${x.client}`}>
                      <code>
                        {x.client.slice(0, 10)}…{x.client.slice(-4)}
                      </code>
                    </Link>
                  </th>
                  <td>{x.group === null ? 'left out' : x.group + 1}</td>
                  <td>{x.weight ?? '—'}</td>
                  <td>{scoreText(x.scoreOnChain)}</td>
                  <td class={scoreDiffers ? 'differs' : undefined}>{scoreText(x.scoreDerived)}</td>
                  <td>{amount.show(x.rewardOnChain)}</td>
                  <td class={rewardDiffers ? 'differs' : undefined}>
                    {amount.show(x.rewardDerived)}
                  </td>
                  <td class={x.commitment === 'bound' ? undefined : 'differs'}>{x.commitment}</td>
                  <td>
                    <strong class={x.pass ? 'ok' : 'error'}>{x.pass ? 'pass' : 'FAIL'}</strong>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
