/** `npm start`: the aggregator with configuration from the environment (see server/config.ts). */
import { startServer } from './app.js';
import { loadConfig } from './config.js';

const server = await startServer(loadConfig());
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
