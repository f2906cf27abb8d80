// Public surface of server/web/: the web app's static files, the OpenAPI docs and `/watch`.
export { serveWeb, reservedPrefixes, WEB_DIST } from './static.js';
export { mountDocs, openApiDocument } from './openapi.js';
export { WebModule } from './web.module.js';
export { WatchGateway, WATCH_POLL_MS } from './watch.gateway.js';
export {
  latestRounds,
  WATCHED_ROUNDS,
  type RoundProgress,
  type GroupProgress,
} from './round-watch.js';
