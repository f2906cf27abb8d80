/**
 * Outbound side of the agent namespace. Services address agents by room (`agent:<address>`,
 * `bounty:<id>`), never by socket id, so a message reaches an agent that reconnected to another
 * instance.
 */
import { Injectable } from '@nestjs/common';
import type { Namespace } from 'socket.io';

export const agentRoom = (address: string): string => `agent:${address}`;
export const bountyRoom = (bountyId: number): string => `bounty:${bountyId}`;

@Injectable()
export class Hub {
  ns?: Namespace;

  toAgent(address: string, event: string, data: unknown): void {
    this.ns?.to(agentRoom(address)).emit(event, data);
  }

  toAgents(addresses: string[], event: string, data: unknown): void {
    if (addresses.length === 0) return;
    this.ns?.to(addresses.map(agentRoom)).emit(event, data);
  }

  /** Whether the agent has a socket on any instance. */
  async isOnline(address: string): Promise<boolean> {
    if (!this.ns) return false;
    return (await this.ns.in(agentRoom(address)).fetchSockets()).length > 0;
  }

  /** Whether an agent of the bounty is connected to this instance (no round trip to the others). */
  hasLocal(bountyId: number): boolean {
    return (this.ns?.adapter.rooms.get(bountyRoom(bountyId))?.size ?? 0) > 0;
  }

  /** Addresses of agents currently connected (on any instance) and in the bounty's room. */
  async connected(bountyId: number): Promise<string[]> {
    if (!this.ns) return [];
    const sockets = await this.ns.in(bountyRoom(bountyId)).fetchSockets();
    const seen = new Set<string>();
    for (const s of sockets) {
      const a = (s.data as { address?: string }).address;
      if (a) seen.add(a);
    }
    return [...seen];
  }
}
