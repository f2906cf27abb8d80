import { Inject, Logger } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  type OnGatewayDisconnect,
  type OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { RateLimiter } from '../abuse/rate-limits.js';
import { AgentKeys } from '../auth/agent-keys.js';
import { AuthService } from '../auth/auth.service.js';
import { BountiesService } from '../bounties/bounties.service.js';
import { ProtocolError, toErrorBody } from '../errors.js';
import { RoundsService } from '../rounds/rounds.service.js';
import { agentRoom, bountyRoom, Hub } from './hub.js';
import { replaceOlderSessions } from './sessions.js';
import { decodeFrame } from '../../aggregation/index.js';
import { JoinMsg, StageMsg } from './wire.js';

function addressOf(socket: Socket): string {
  const a = (socket.data as { address?: string }).address;
  if (!a) throw new ProtocolError('UNAUTHENTICATED', 'not signed in');
  return a;
}

async function answer<T>(fn: () => Promise<T>): Promise<T | ReturnType<typeof toErrorBody>> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ProtocolError)) new Logger('AgentGateway').error(err);
    return toErrorBody(err);
  }
}

/**
 * The agents' namespace. Sign-in happens in the handshake (`auth: { address, nonce, signature }`
 * over an EIP-712 challenge from `POST /auth/challenge`), so every socket here is authenticated.
 */
@WebSocketGateway({ namespace: '/agents' })
export class AgentGateway implements OnGatewayInit, OnGatewayDisconnect {
  private readonly log = new Logger('AgentGateway');

  constructor(
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(Hub) private readonly hub: Hub,
    @Inject(RoundsService) private readonly rounds: RoundsService,
    @Inject(BountiesService) private readonly bounties: BountiesService,
    @Inject(RateLimiter) private readonly limits: RateLimiter,
    @Inject(AgentKeys) private readonly agentKeys: AgentKeys,
  ) {}

  afterInit(ns: Namespace): void {
    this.hub.ns = ns;
    ns.use((socket, next) => {
      const hs = socket.handshake;
      this.auth
        .verify((hs.auth ?? {}) as Record<string, unknown>, {
          ip: hs.address,
          host: typeof hs.headers.host === 'string' ? hs.headers.host : undefined,
          secure: hs.secure,
        })
        .then(async (address) => {
          (socket.data as { address: string }).address = address;
          await replaceOlderSessions(ns, address);
          await socket.join(agentRoom(address));
          next();
        })
        .catch((err: unknown) => {
          const body = toErrorBody(err);
          const e = new Error(body.error.message) as Error & { data: unknown };
          e.data = body.error;
          next(e);
        });
    });
  }

  /** A participant gone in the middle of a stage may be a dropout: checked after a grace period. */
  handleDisconnect(socket: Socket): void {
    const address = (socket.data as { address?: string }).address;
    if (address) this.rounds.scheduleDropoutCheck(address);
  }

  @SubscribeMessage('join')
  join(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown) {
    return answer(async () => {
      const address = addressOf(socket);
      await this.limits.consume('join', address);
      const msg = JoinMsg.safeParse(body);
      if (!msg.success) {
        throw new ProtocolError('BAD_REQUEST', 'join needs { bountyId, certificate? }');
      }
      const { certificate } = msg.data;
      if (certificate) this.agentKeys.checkJoin(msg.data.bountyId, address, certificate);
      if (!(await this.bounties.joinedOnChain(msg.data.bountyId, address))) {
        throw new ProtocolError('NOT_JOINED', 'join (stake in) the bounty on chain first');
      }
      const info = await this.rounds.join(address, msg.data.bountyId);
      await socket.join(bountyRoom(msg.data.bountyId));
      // Resume: re-send the active round and the open stage's message, if any.
      await this.rounds.resume(address, msg.data.bountyId);
      this.rounds.scheduleOpen(msg.data.bountyId, this.rounds.gatherMs);
      return { ok: true, ...info };
    });
  }

  @SubscribeMessage('stage')
  stage(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown) {
    return answer(async () => {
      const address = addressOf(socket);
      await this.limits.consume('stage', address);
      const msg = StageMsg.safeParse(body);
      if (!msg.success) {
        throw new ProtocolError('BAD_REQUEST', 'stage needs { roundId, stage, message }');
      }
      let message: unknown;
      try {
        message = decodeFrame(msg.data.message);
      } catch (err) {
        throw new ProtocolError('BAD_REQUEST', `stage message: ${(err as Error).message}`);
      }
      await this.rounds.accept(address, { ...msg.data, message });
      return { ok: true };
    });
  }

  @SubscribeMessage('status')
  status(@ConnectedSocket() socket: Socket) {
    return answer(async () => ({ ok: true, ...(await this.rounds.status(addressOf(socket))) }));
  }
}
