/** `npm start`: the aggregator with configuration from the environment (see server/config.ts). */
import { startServer } from './app.js';
import { loadConfig } from './config.js';
import { EmbeddedError } from './infra/embedded.js';

const server = await startServer(loadConfig()).catch((e: unknown) => {
  // A setup problem the operator can fix gets one line, not a stack trace.
  if (!(e instanceof EmbeddedError)) throw e;
  process.stderr.write(`tributary: ${e.message}\n`);
  process.exit(1);
});
// The one shutdown path: close() stops Nest, then the embedded services it started (a signal
// handler of Nest's own would re-raise the signal once Nest is down and leave PostgreSQL running).
// A second signal exits at once.
let stopping = false;
const stop = async () => {
  if (stopping) process.exit(1);
  stopping = true;
  await server.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
