/**
 * The web app: a catalogue of bounties, a live page per bounty, the reward audit of a bounty, a page
 * per contributor.
 */
import '@picocss/pico/css/pico.min.css';
import './style.css';
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Audit } from './pages/Audit.js';
import { Bounty } from './pages/Bounty.js';
import { Catalogue } from './pages/Catalogue.js';
import { Contributor } from './pages/Contributor.js';
import { Link, href, useRoute, type Route } from './router.js';

type SponsorPage = (typeof import('./pages/Sponsor.js'))['Sponsor'];

/** The Sponsor page (ethers signers, the contracts' ABIs, tfjs on use) is loaded when first opened. */
function LazySponsor() {
  const [page, setPage] = useState<{ C: SponsorPage } | { error: Error } | null>(null);
  useEffect(() => {
    import('./pages/Sponsor.js').then(
      (m) => setPage({ C: m.Sponsor }),
      (e: unknown) => setPage({ error: e instanceof Error ? e : new Error(String(e)) }),
    );
  }, []);
  if (!page) return <p aria-busy="true">Loading…</p>;
  if ('error' in page)
    return (
      <p role="alert" class="error">
        Could not load the Sponsor page: {page.error.message}
      </p>
    );
  return <page.C />;
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'catalogue':
      return <Catalogue />;
    case 'bounty':
      return <Bounty id={route.id} key={route.id} />;
    case 'audit':
      return <Audit id={route.id} key={route.id} />;
    case 'contributor':
      return <Contributor address={route.address} key={route.address} />;
    case 'sponsor':
      return <LazySponsor />;
    case 'not-found':
      return (
        <>
          <h1 tabIndex={-1}>Not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>.{' '}
            <Link href={href.catalogue()}>Back to the catalogue</Link>.
          </p>
        </>
      );
  }
}

function App() {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  const path = JSON.stringify(route);
  useEffect(() => {
    // After a navigation inside the app, focus the new page's heading (a full load leaves focus alone).
    if (first.current) {
      first.current = false;
      return;
    }
    window.scrollTo(0, 0);
    const t = setTimeout(() => main.current?.querySelector<HTMLElement>('h1')?.focus(), 0);
    return () => clearTimeout(t);
  }, [path]);
  useEffect(() => {
    document.title =
      route.page === 'bounty'
        ? `Bounty #${route.id} · Tributary`
        : route.page === 'audit'
          ? `Audit of bounty #${route.id} · Tributary`
          : route.page === 'sponsor'
            ? 'Sponsor · Tributary'
            : route.page === 'contributor'
              ? `Contributor ${route.address.slice(0, 10)}… · Tributary`
              : 'Tributary';
  }, [path]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="container site">
        <nav>
          <ul>
            <li>
              <Link href={href.catalogue()} class="brand">
                Tributary
              </Link>
            </li>
          </ul>
          <ul>
            <li>
              <Link href={href.catalogue()}>Catalogue</Link>
            </li>
            <li>
              <Link href={href.sponsor()}>Sponsor</Link>
            </li>
            <li>
              <a href="/docs">API</a>
            </li>
          </ul>
        </nav>
      </header>
      <main class="container" id="main" ref={main}>
        <Page route={route} />
      </main>
      <footer class="container muted">
        Federated learning with secure aggregation; every contribution recorded on chain.
      </footer>
    </>
  );
}

render(<App />, document.getElementById('app')!);
