/**
 * A small History-API router: real `<a href>` links (open in a new tab, copy, keyboard all work),
 * same-origin clicks handled in the page, focus moved to the new page's heading for keyboard and
 * screen-reader users.
 */
import type { AnchorHTMLAttributes, ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'catalogue' }
  | { page: 'bounty'; id: number }
  | { page: 'audit'; id: number }
  | { page: 'contributor'; address: string }
  | { page: 'sponsor' }
  | { page: 'not-found'; path: string };

export function parseRoute(path: string): Route {
  if (path === '/' || path === '') return { page: 'catalogue' };
  if (/^\/sponsor\/?$/.test(path)) return { page: 'sponsor' };
  let m = /^\/bounty\/(\d+)\/?$/.exec(path);
  if (m) return { page: 'bounty', id: Number(m[1]) };
  m = /^\/bounty\/(\d+)\/audit\/?$/.exec(path);
  if (m) return { page: 'audit', id: Number(m[1]) };
  m = /^\/contributor\/(0x[0-9a-fA-F]{40})\/?$/.exec(path);
  if (m) return { page: 'contributor', address: m[1]! };
  return { page: 'not-found', path };
}

export const href = {
  catalogue: () => '/',
  bounty: (id: number) => `/bounty/${id}`,
  audit: (id: number) => `/bounty/${id}/audit`,
  contributor: (address: string) => `/contributor/${address}`,
  sponsor: (bountyId?: number) =>
    bountyId === undefined ? '/sponsor' : `/sponsor?bounty=${bountyId}`,
};

const listeners = new Set<() => void>();

export function navigate(to: string): void {
  history.pushState(null, '', to);
  for (const l of listeners) l();
}

export function useRoute(): Route {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return parseRoute(path);
}

export function Link(
  props: { href: string; children: ComponentChildren } & AnchorHTMLAttributes<HTMLAnchorElement>,
) {
  const { href: to, children, ...rest } = props;
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
      return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a {...rest} href={to} onClick={onClick}>
      {children}
    </a>
  );
}
