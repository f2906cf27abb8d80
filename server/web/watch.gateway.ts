/**
 * `/watch`: a public, read-only Socket.IO namespace for the web app. A page sends
 * `watch { bountyId }` and gets the latest rounds as the answer; from then on a `round` event
 * (a `RoundProgress`) whenever one of them changes. Changes are found by polling Postgres every
 * `WATCH_POLL_MS` for the bounties watched on this instance (one query per tick, none when nobody
 * watches), and sent to this instance's sockets only: every instance polls for its own watchers.
 */
import { Inject, Logger, type OnModuleDestroy } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  type OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { Id } from '../input.js';
import { latestRounds, type RoundProgress } from './round-watch.js';

export const WATCH_POLL_MS = 250;
const room = (bountyId: number): string => `bounty:${bountyId}`;
const WatchMsg = z.object({ bountyId: Id });

@WebSocketGateway({ namespace: '/watch' })
export class WatchGateway implements OnGatewayInit, OnModuleDestroy {
  private readonly log = new Logger('WatchGateway');
  private ns?: Namespace;
  private timer?: NodeJS.Timeout;
  private busy = false;
  /** Last JSON sent per round id. */
  private readonly sent = new Map<number, string>();

  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  afterInit(ns: Namespace): void {
    this.ns = ns;
    this.timer = setInterval(() => void this.tick(), WATCH_POLL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  @SubscribeMessage('watch')
  async watch(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown) {
    const msg = WatchMsg.safeParse(body);
    if (!msg.success)
      return { error: { code: 'BAD_REQUEST', message: 'watch needs { bountyId }' } };
    await socket.join(room(msg.data.bountyId));
    return { ok: true, rounds: await latestRounds(this.ds, [msg.data.bountyId]) };
  }

  @SubscribeMessage('unwatch')
  async unwatch(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown) {
    const msg = WatchMsg.safeParse(body);
    if (msg.success) await socket.leave(room(msg.data.bountyId));
    return { ok: true };
  }

  /** Bounties with at least one watcher connected to this instance. */
  private watched(): number[] {
    const ids: number[] = [];
    for (const [name, members] of this.ns?.adapter.rooms ?? []) {
      const m = /^bounty:(\d+)$/.exec(name);
      if (m && members.size > 0) ids.push(Number(m[1]));
    }
    return ids;
  }

  private async tick(): Promise<void> {
    if (this.busy || !this.ns) return;
    const ids = this.watched();
    if (ids.length === 0) return;
    this.busy = true;
    try {
      const rounds = await latestRounds(this.ds, ids);
      for (const r of rounds) this.publish(r);
      const live = new Set(rounds.map((r) => r.id));
      for (const id of this.sent.keys()) if (!live.has(id)) this.sent.delete(id);
    } catch (err) {
      // The data source closes before the module on shutdown; a failed poll is retried next tick.
      if (this.ds.isInitialized) this.log.warn(`poll failed: ${(err as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  private publish(r: RoundProgress): void {
    const json = JSON.stringify(r);
    if (this.sent.get(r.id) === json) return;
    this.sent.set(r.id, json);
    this.ns!.local.to(room(r.bountyId)).emit('round', r);
  }
}
