/**
 * Input checks shared by every route and socket event, run before anything touches the database:
 * ids are PostgreSQL `integer`s (a larger one made Postgres throw "integer out of range", a 500),
 * and untrusted JSON is bounded in depth and size before any recursive walk (canonical JSON of a
 * 20,000-deep topology overflowed the stack).
 */
import { Injectable, type PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { ProtocolError } from './errors.js';

/** Largest id a PostgreSQL `integer` column holds. */
export const MAX_ID = 2 ** 31 - 1;

/** Any id column: bounties, rounds, model versions. */
export const Id = z.number().int().min(0).max(MAX_ID);
/** Serial ids start at 1. */
export const SerialId = z.number().int().min(1).max(MAX_ID);

/** `:id` route parameters: decimal digits, at most MAX_ID; anything else is BAD_REQUEST. */
@Injectable()
export class IdPipe implements PipeTransform<unknown, number> {
  transform(value: unknown): number {
    if (typeof value !== 'string' || !/^\d{1,10}$/.test(value) || Number(value) > MAX_ID) {
      throw new ProtocolError('BAD_REQUEST', `id must be an integer in [0, ${MAX_ID}]`);
    }
    return Number(value);
  }
}

export interface JsonBounds {
  /** Deepest nesting of arrays and objects. */
  depth: number;
  /** Arrays, objects and leaves altogether. */
  nodes: number;
}

/**
 * Throws BAD_REQUEST when `value` nests deeper or holds more nodes than `bounds`. Iterative, so a
 * hostile value cannot overflow the stack here either.
 */
export function checkJsonBounds(value: unknown, bounds: JsonBounds, what: string): void {
  const stack: [unknown, number][] = [[value, 1]];
  let nodes = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (++nodes > bounds.nodes) {
      throw new ProtocolError('BAD_REQUEST', `${what} has more than ${bounds.nodes} nodes`);
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth > bounds.depth) {
      throw new ProtocolError('BAD_REQUEST', `${what} nests deeper than ${bounds.depth}`);
    }
    for (const child of Array.isArray(v) ? v : Object.values(v as object)) {
      stack.push([child, depth + 1]);
    }
  }
}

/** Length of the standard (padded) base64 text of `bytes` bytes. */
export function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}
