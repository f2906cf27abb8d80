/**
 * One log line when a Redis client loses its server and one when it is back, instead of ioredis's
 * "Unhandled error event" on stderr for every reconnect attempt. Commands wait (or fail, as the
 * client is configured) meanwhile; what an empty Redis lost, the recovery sweep re-makes.
 */
import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';

export function watchRedis<T extends Redis>(client: T, log: Logger, what: string): T {
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log.warn(`${what}: Redis unreachable: ${err.message}`);
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    log.log(`${what}: Redis reachable again`);
  });
  return client;
}

/** Errors of a lost connection, which `watchRedis` has reported already. */
export function isConnectionError(err: Error): boolean {
  const code = (err as { code?: string }).code;
  return (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    /Connection is closed|connect ETIMEDOUT/.test(err.message)
  );
}
