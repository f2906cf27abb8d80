/**
 * Serves the web app's build (`web/dist`, made by `npm run build:web`) at `/`. Hashed files under
 * `assets/` are cached for good; every other GET that asks for HTML and is not under a REST or
 * socket prefix gets `index.html`, so the app's own paths (`/bounty/3`) load on a refresh. The
 * prefixes come from the registered controllers, so a new REST route is never shadowed.
 */
import { existsSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiscoveryService } from '@nestjs/core';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import type { NestExpressApplication } from '@nestjs/platform-express';

export const WEB_DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');

/** Paths the web app never answers: REST controllers, Socket.IO, the OpenAPI docs. */
export function reservedPrefixes(app: NestExpressApplication): string[] {
  const fromControllers = app
    .get(DiscoveryService)
    .getControllers()
    .flatMap((w) => {
      const p = w.metatype
        ? (Reflect.getMetadata(PATH_METADATA, w.metatype) as unknown)
        : undefined;
      return (Array.isArray(p) ? p : [p]).filter((x): x is string => typeof x === 'string');
    });
  return [...new Set([...fromControllers, 'socket.io', 'docs'])]
    .map((p) => `/${p.replace(/^\/+|\/+$/g, '')}`)
    .filter((p) => p !== '/');
}

interface Req {
  method: string;
  path: string;
  accepts(type: string): string | false;
}
interface Res {
  sendFile(path: string, opts: { headers: Record<string, string> }): void;
  status(code: number): Res;
  type(t: string): Res;
  send(body: string): void;
}

export function serveWeb(app: NestExpressApplication, dist = WEB_DIST): void {
  let reserved: string[] | undefined;
  const index = join(dist, 'index.html');
  app.use((req: Req, res: Res, next: () => void) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    reserved ??= reservedPrefixes(app);
    const path = req.path;
    if (reserved.some((p) => path === p || path.startsWith(`${p}/`))) return next();
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return next(); // a malformed escape is nobody's file
    }
    const file = normalize(join(dist, decoded));
    if (path !== '/' && file.startsWith(dist + sep) && existsSync(file) && !file.endsWith(sep)) {
      const immutable = path.startsWith('/assets/');
      return res.sendFile(file, {
        headers: {
          'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        },
      });
    }
    // A missing asset is a 404, not the app: only page navigations fall back to index.html.
    if (/\.[a-z0-9]+$/i.test(path) || !req.accepts('html')) return next();
    if (!existsSync(index)) {
      return res
        .status(404)
        .type('text/plain')
        .send('The web app is not built: run `npm run build:web`.\n');
    }
    res.sendFile(index, { headers: { 'cache-control': 'no-cache' } });
  });
}
