/**
 * The web app's build: `npm run build:web` writes `web/dist`, which the aggregator serves at `/`
 * (server/web/static.ts). `npx vite --config web/vite.config.ts` serves it with hot reload and
 * forwards the REST and socket routes to the aggregator at TRIBUTARY_SERVER.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = dirname(fileURLToPath(import.meta.url));
const server = process.env.TRIBUTARY_SERVER ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    // tfjs (the Sponsor page builds a bounty's model with it) is one lazily loaded chunk of its
    // own, so the browser test can tell its guarded `typeof Buffer` paths from the app's code.
    rolldownOptions: {
      output: {
        codeSplitting: { groups: [{ name: 'tfjs', test: /node_modules[\\/]@tensorflow/ }] },
      },
    },
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      '^/(bounties|models|auth|chain|docs)(/|$)': server,
      '/socket.io': { target: server, ws: true },
    },
  },
});
