/**
 * Live round progress from the aggregator's public `/watch` namespace (server/web/watch.gateway.ts):
 * `watch { bountyId }` answers with the latest rounds, then a `round` event arrives whenever one of
 * them changes (the server polls its database every 250 ms).
 */
import { useEffect, useState } from 'preact/hooks';
import { io } from 'socket.io-client';
import type { RoundProgress } from '../../aggregation/round-progress.js';

export type { GroupProgress, RoundProgress } from '../../aggregation/round-progress.js';

export type LiveStatus = 'connecting' | 'live' | 'offline';

/** The bounty's latest rounds by id, kept current; `version` counts the updates received. */
export function useLiveRounds(bountyId: number): {
  rounds: RoundProgress[];
  status: LiveStatus;
  version: number;
} {
  const [state, setState] = useState<{ byId: Map<number, RoundProgress>; version: number }>({
    byId: new Map(),
    version: 0,
  });
  const [status, setStatus] = useState<LiveStatus>('connecting');
  useEffect(() => {
    const socket = io('/watch', { transports: ['websocket'] });
    const merge = (list: RoundProgress[]) =>
      setState((s) => {
        const byId = new Map(s.byId);
        for (const r of list) if (r.bountyId === bountyId) byId.set(r.id, r);
        return { byId, version: s.version + 1 };
      });
    socket.on('connect', () => {
      setStatus('live');
      socket.emit('watch', { bountyId }, (ack: { ok?: boolean; rounds?: RoundProgress[] }) => {
        if (ack.rounds) merge(ack.rounds);
      });
    });
    socket.on('disconnect', () => setStatus('offline'));
    socket.on('connect_error', () => setStatus('offline'));
    socket.on('round', (r: RoundProgress) => merge([r]));
    return () => {
      socket.disconnect();
    };
  }, [bountyId]);
  const rounds = [...state.byId.values()].sort((a, b) => a.number - b.number);
  return { rounds, status, version: state.version };
}
