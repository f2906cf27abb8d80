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
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
