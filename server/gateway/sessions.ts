/**
 * One live socket per wallet: a new sign-in replaces the wallet's older sockets on every instance
 * (the newest wins: an agent that reconnects after a network change must not be locked out by its
 * own half-dead socket). The old socket is told why (`session-replaced` with code SESSION_REPLACED)
 * and disconnected by the server, which Socket.IO clients do not retry on their own.
 */
import type { Namespace } from 'socket.io';
import type { ErrorBody } from '../errors.js';
import { agentRoom } from './hub.js';

export const SESSION_REPLACED_EVENT = 'session-replaced';

export async function replaceOlderSessions(ns: Namespace, address: string): Promise<number> {
  const older = await ns.in(agentRoom(address)).fetchSockets();
  const why: ErrorBody = {
    error: {
      code: 'SESSION_REPLACED',
      message: `a newer sign-in of ${address} took this socket's place`,
    },
  };
  for (const s of older) {
    s.emit(SESSION_REPLACED_EVENT, why);
    s.disconnect(true);
  }
  return older.length;
}
