/**
 * The sponsor's and model user's page: sign with a browser wallet (EIP-1193) or, on the dev chain,
 * a development key; create and fund a bounty; set its licence terms; buy a licence; rate a model
 * version; claim rewards and licence revenue. Every action lists its transactions as they are
 * mined and ends in a typed error when it fails.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, type ChainInfo } from '../api.js';
import { Hash } from '../components/Hash.js';
import { Steps } from '../components/Steps.js';
import { Failure } from '../components/Status.js';
import { useLoad } from '../hooks.js';
import { Link, href } from '../router.js';
import * as actions from '../sponsor/actions.js';
import { describeError, type Described } from '../sponsor/errors.js';
import {
  connectDev,
  connectInjected,
  DEV_CHAIN_ID,
  DEV_KEYS,
  hasInjectedWallet,
  type Session,
} from '../sponsor/wallet.js';

type Run = (report: actions.Report) => Promise<unknown>;

/** The create form's numeric fields. */
type NumberKey = {
  [K in keyof actions.CreateForm]: actions.CreateForm[K] extends number ? K : never;
}[keyof actions.CreateForm];

/** Runs actions one at a time, keeping their steps and their error. */
function useAction(after?: () => void) {
  const [steps, setSteps] = useState<actions.Step[]>([]);
  const [error, setError] = useState<Described | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (fn: Run) => {
    setBusy(true);
    setError(null);
    setSteps([]);
    const report: actions.Report = (s) =>
      setSteps((prev) => {
        const i = prev.findIndex((p) => p.label === s.label);
        return i < 0 ? [...prev, s] : prev.map((p, j) => (j === i ? s : p));
      });
    try {
      await fn(report);
    } catch (e) {
      // The step that was running when it failed is the one that failed.
      setSteps((prev) => prev.map((p) => (p.state === 'running' ? { ...p, state: 'failed' } : p)));
      setError(describeError(e));
    } finally {
      setBusy(false);
      after?.();
    }
  };
  return { steps, error, busy, run };
}

const initialBounty = (): string => new URLSearchParams(location.search).get('bounty') ?? '';

export function Sponsor() {
  const chain = useLoad(api.chain, []);
  const [session, setSession] = useState<Session | null>(null);
  return (
    <>
      <h1 tabIndex={-1}>Sponsor</h1>
      <p class="lead">
        Fund a model bounty in escrow, set its licence, buy a licence, rate a model version, claim
        what you earned. Each action is a transaction your wallet signs; its hash is shown as soon
        as it is mined.
      </p>
      {chain.state === 'loading' && <p aria-busy="true">Reading the chain…</p>}
      {chain.state === 'error' && <Failure error={chain.error} />}
      {chain.state === 'ok' && (
        <>
          <WalletPanel chain={chain.value} session={session} onSession={setSession} />
          {session ? (
            <>
              <CreatePanel session={session} />
              <TermsPanel session={session} />
              <BuyPanel session={session} />
              <RatePanel session={session} />
              <ClaimPanel session={session} />
            </>
          ) : (
            <p class="muted">Choose a wallet to create a bounty, buy, rate or claim.</p>
          )}
        </>
      )}
    </>
  );
}

function Panel(props: { id: string; title: string; children: ComponentChildren }) {
  return (
    <section aria-labelledby={`${props.id}-h`} data-panel={props.id}>
      <h2 id={`${props.id}-h`}>{props.title}</h2>
      {props.children}
    </section>
  );
}

function WalletPanel({
  chain,
  session,
  onSession,
}: {
  chain: ChainInfo;
  session: Session | null;
  onSession: (s: Session | null) => void;
}) {
  const [devIndex, setDevIndex] = useState(1);
  const [tick, setTick] = useState(0);
  const act = useAction(() => setTick((t) => t + 1));
  const bal = useLoad(
    () => (session ? actions.balances(session) : Promise.resolve(null)),
    [session, tick],
  );
  const dev = chain.chainId === DEV_CHAIN_ID;
  return (
    <Panel id="wallet" title="Wallet">
      <p class="muted">
        Chain {chain.chainId} at <code>{chain.rpcUrl}</code> (named by the aggregator's{' '}
        <code>GET /chain</code>); escrow <Hash value={chain.contracts.bounties} />, registry{' '}
        <Hash value={chain.contracts.registry} />.
      </p>
      <div class="grid wallet-choice">
        <div>
          <button
            type="button"
            disabled={!hasInjectedWallet() || act.busy}
            onClick={() => void act.run(async () => onSession(await connectInjected(chain)))}
          >
            Connect browser wallet
          </button>
          {!hasInjectedWallet() && (
            <small class="muted">No EIP-1193 wallet (window.ethereum) in this browser.</small>
          )}
        </div>
        {dev ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void act.run(async () => onSession(connectDev(chain, devIndex)));
            }}
          >
            <label>
              Development key (chain {DEV_CHAIN_ID} only)
              <select
                name="dev-key"
                value={devIndex}
                onChange={(e) => setDevIndex(Number(e.currentTarget.value))}
              >
                {DEV_KEYS.map((_, i) => (
                  <option value={i} key={i}>
                    account #{i}
                    {i === 0 ? ' (deployer and coordinator: avoid)' : ''}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit" class="secondary" disabled={act.busy}>
              Use development key
            </button>
          </form>
        ) : (
          <p class="muted">
            Development keys are offered on the dev chain ({DEV_CHAIN_ID}) only; this is chain{' '}
            {chain.chainId}.
          </p>
        )}
      </div>
      {session && (
        <dl class="facts" data-wallet={session.address}>
          <div>
            <dt>signing as</dt>
            <dd>
              <Hash value={session.address} copy />{' '}
              <span class="muted">
                {session.kind === 'dev' ? `dev account #${session.index}` : 'browser wallet'}
              </span>
            </dd>
          </div>
          <div>
            <dt>ETH</dt>
            <dd>{bal.state === 'ok' && bal.value ? actions.showTokens(bal.value.eth) : '…'}</dd>
          </div>
          <div>
            <dt>reward tokens</dt>
            <dd data-balance="tokens">
              {bal.state === 'ok' && bal.value ? actions.showTokens(bal.value.tokens) : '…'}
            </dd>
          </div>
          <div>
            <dt>contributor page</dt>
            <dd>
              <Link href={href.contributor(session.address)}>rounds, claims, stake</Link>
            </dd>
          </div>
        </dl>
      )}
      {session?.kind === 'dev' && session.index !== 0 && (
        <button
          type="button"
          class="outline"
          disabled={act.busy}
          onClick={() => void act.run((r) => actions.devFaucet(session, 10_000n * 10n ** 18n, r))}
        >
          Get 10,000 test tokens
        </button>
      )}
      <Steps steps={act.steps} error={act.error} />
    </Panel>
  );
}

const CSV_HELP =
  'One row per example: numeric feature columns and an integer label column (default the last); a header row is optional.';

function CreatePanel({ session }: { session: Session }) {
  const act = useAction();
  const [csvName, setCsvName] = useState('');
  const [created, setCreated] = useState<actions.Created | null>(null);
  const [f, setF] = useState<actions.CreateForm>({
    model: 'linear',
    csv: '',
    label: '',
    budget: '1000',
    rounds: 5,
    minParticipants: 3,
    minStake: '0',
    deadlineDays: 30,
    licence: 'contributors',
    price: '50',
    strategy: 'fedavg',
    epochs: 1,
    batchSize: 32,
    learningRate: 0.05,
    minGroupSize: 3,
    maxGroups: 8,
    clip: 10,
    seed: 1,
  });
  const set =
    <K extends keyof actions.CreateForm>(k: K, num = false) =>
    (e: Event) => {
      const v = (e.currentTarget as HTMLInputElement).value;
      setF((p) => ({ ...p, [k]: num ? Number(v) : v }));
    };
  /** A labelled number input bound to field `k` of the form. */
  const numberField = (
    k: NumberKey,
    label: string,
    o: { min: number; max?: number; step?: 'any' },
  ) => (
    <label>
      {label}
      <input
        name={k}
        type="number"
        min={o.min}
        max={o.max}
        step={o.step}
        value={f[k]}
        onInput={set(k, true)}
      />
    </label>
  );
  return (
    <Panel id="create" title="Create and fund a bounty">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setCreated(null);
          void act.run(async (r) => setCreated(await actions.createBounty(session, f, r)));
        }}
      >
        <fieldset class="grid">
          <label>
            Model
            <select name="model" value={f.model} onChange={set('model')}>
              <option value="linear">linear (features × classes from the CSV)</option>
              <option value="cnn">cnn (28×28×1 images, 10 classes)</option>
            </select>
          </label>
          <label>
            Validation set (CSV)
            <input
              type="file"
              name="validation"
              accept=".csv,text/csv"
              aria-describedby="csv-help"
              onChange={(e) => {
                const file = e.currentTarget.files?.[0];
                setCsvName(file?.name ?? '');
                void file?.text().then((csv) => setF((p) => ({ ...p, csv })));
              }}
            />
            <small id="csv-help">
              {csvName ? `${csvName}: ` : ''}
              {CSV_HELP} Only its keccak256 goes on chain.
            </small>
          </label>
          <label>
            Label column
            <input name="label" placeholder="last column" value={f.label} onInput={set('label')} />
          </label>
        </fieldset>
        <fieldset class="grid">
          <label>
            Budget (tokens)
            <input
              name="budget"
              inputMode="decimal"
              required
              value={f.budget}
              onInput={set('budget')}
            />
          </label>
          {numberField('rounds', 'Rounds', { min: 1, max: 65535 })}
          {numberField('minParticipants', 'Min participants', { min: 1 })}
          <label>
            Min stake (tokens)
            <input
              name="minStake"
              inputMode="decimal"
              value={f.minStake}
              onInput={set('minStake')}
            />
          </label>
          {numberField('deadlineDays', 'Deadline (days)', { min: 1 })}
        </fieldset>
        <fieldset class="grid">
          <label>
            Licence
            <select name="licence" value={f.licence} onChange={set('licence')}>
              <option value="contributors">contributors only</option>
              <option value="open">open</option>
              <option value="paid">paid</option>
            </select>
          </label>
          <label>
            Price (tokens, paid licence)
            <input
              name="price"
              inputMode="decimal"
              disabled={f.licence !== 'paid'}
              value={f.price}
              onInput={set('price')}
            />
          </label>
          <label>
            Strategy
            <select name="strategy" value={f.strategy} onChange={set('strategy')}>
              <option value="fedavg">FedAvg</option>
              <option value="fedadam">FedAdam</option>
              <option value="fedyogi">FedYogi</option>
            </select>
          </label>
        </fieldset>
        <details>
          <summary>Rounds and local training</summary>
          <fieldset class="grid">
            {numberField('minGroupSize', 'Min group size', { min: 2 })}
            {numberField('maxGroups', 'Max groups', { min: 1 })}
            {numberField('clip', 'Clip (L2)', { min: 0, step: 'any' })}
            {numberField('epochs', 'Epochs', { min: 1 })}
            {numberField('batchSize', 'Batch size', { min: 1 })}
            {numberField('learningRate', 'Learning rate', { min: 0, step: 'any' })}
            {numberField('seed', 'Seed', { min: 0 })}
          </fieldset>
        </details>
        <p class="muted">
          Not in the browser yet: a custom tfjs topology, the built-in MNIST / Fashion-MNIST
          validation sets and IDX files, a weight cap or robust rule other than the default. Use{' '}
          <code>tributary bounty create</code> for those.
        </p>
        <button type="submit" disabled={act.busy} aria-busy={act.busy}>
          Create and fund
        </button>
      </form>
      <Steps steps={act.steps} error={act.error} />
      {created && (
        <p class="created" role="status">
          Bounty <Link href={href.bounty(created.bountyId)}>#{created.bountyId}</Link> is funded and
          registered ({created.params.toLocaleString('en')} parameters; spec{' '}
          <Hash value={created.specHash} />, validation set <Hash value={created.validationHash} />
          ). <Link href={href.catalogue()}>See it in the catalogue</Link>.
        </p>
      )}
    </Panel>
  );
}

function BountyField({ value, onInput }: { value: string; onInput: (v: string) => void }) {
  return (
    <label>
      Bounty id
      <input
        name="bounty"
        type="number"
        min={1}
        required
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
      />
    </label>
  );
}

/** One button of a bounty action panel: its label and the action it runs on the chosen bounty. */
interface BountyAction {
  label: string;
  run: (bountyId: bigint, report: actions.Report) => Promise<unknown>;
  secondary?: boolean;
}

/**
 * A panel whose form picks a bounty (plus any `children` fields) and runs one of `buttons`' actions
 * on it, listing the action's transactions and its error below.
 */
function BountyActionPanel(props: {
  id: string;
  title: string;
  intro?: ComponentChildren;
  buttons: BountyAction[];
  children?: ComponentChildren;
}) {
  const act = useAction();
  const [bounty, setBounty] = useState(initialBounty);
  const start = (a: BountyAction) =>
    void act.run((r) => a.run(actions.bountyIdOf(Number(bounty)), r));
  const [first, ...rest] = props.buttons;
  return (
    <Panel id={props.id} title={props.title}>
      {props.intro}
      <form
        class="grid"
        onSubmit={(e) => {
          e.preventDefault();
          if (first) start(first);
        }}
      >
        <BountyField value={bounty} onInput={setBounty} />
        {props.children}
        {first && (
          <button type="submit" disabled={act.busy}>
            {first.label}
          </button>
        )}
        {rest.map((a) => (
          <button
            type="button"
            key={a.label}
            class={a.secondary ? 'secondary' : undefined}
            disabled={act.busy}
            onClick={() => start(a)}
          >
            {a.label}
          </button>
        ))}
      </form>
      <Steps steps={act.steps} error={act.error} />
    </Panel>
  );
}

function TermsPanel({ session }: { session: Session }) {
  const [kind, setKind] = useState<actions.LicenceChoice>('paid');
  const [price, setPrice] = useState('50');
  return (
    <BountyActionPanel
      id="terms"
      title="Licence terms (the bounty's sponsor)"
      buttons={[
        { label: 'Set terms', run: (id, r) => actions.setTerms(session, id, kind, price, r) },
      ]}
    >
      <label>
        Licence
        <select
          name="kind"
          value={kind}
          onChange={(e) => setKind(e.currentTarget.value as actions.LicenceChoice)}
        >
          <option value="contributors">contributors only</option>
          <option value="open">open</option>
          <option value="paid">paid</option>
        </select>
      </label>
      <label>
        Price (tokens)
        <input
          name="price"
          inputMode="decimal"
          disabled={kind !== 'paid'}
          value={price}
          onInput={(e) => setPrice(e.currentTarget.value)}
        />
      </label>
    </BountyActionPanel>
  );
}

function BuyPanel({ session }: { session: Session }) {
  return (
    <BountyActionPanel
      id="buy"
      title="Buy a licence"
      intro={
        <p class="muted">
          Paid licences are sold once every round is recorded; the price is split among the
          contributors by their rewards.
        </p>
      }
      buttons={[{ label: 'Buy licence', run: (id, r) => actions.buyLicence(session, id, r) }]}
    />
  );
}

function RatePanel({ session }: { session: Session }) {
  const [version, setVersion] = useState('1');
  const [stars, setStars] = useState<1 | 2 | 3 | 4 | 5>(5);
  return (
    <BountyActionPanel
      id="rate"
      title="Rate a model version (licence holders)"
      buttons={[
        {
          label: 'Rate',
          run: (id, r) => actions.rateVersion(session, id, Number(version), stars, r),
        },
      ]}
    >
      <label>
        Version
        <input
          name="version"
          type="number"
          min={1}
          required
          value={version}
          onInput={(e) => setVersion(e.currentTarget.value)}
        />
      </label>
      <label>
        Stars
        <select
          name="stars"
          value={stars}
          onChange={(e) => setStars(Number(e.currentTarget.value) as 1 | 2 | 3 | 4 | 5)}
        >
          {[5, 4, 3, 2, 1].map((n) => (
            <option value={n} key={n}>
              {'★'.repeat(n)} ({n})
            </option>
          ))}
        </select>
      </label>
    </BountyActionPanel>
  );
}

function ClaimPanel({ session }: { session: Session }) {
  return (
    <BountyActionPanel
      id="claim"
      title="Claim rewards and licence revenue (contributors)"
      buttons={[
        { label: 'Claim rewards', run: (id, r) => actions.claimRewards(session, id, r) },
        {
          label: 'Claim licence revenue',
          secondary: true,
          run: (id, r) => actions.claimRevenue(session, id, r),
        },
      ]}
    />
  );
}
