import { PRG_NAMES, type PrgName } from '../defaults.js';
import { check } from '../errors.js';
import type { GroupId, RoundId } from '../types.js';

/** What every member of a group and the server agree on before stage 1. */
export interface GroupParams {
  readonly round: RoundId;
  readonly group: GroupId;
  /** Words in each input vector (model parameters + 1 weight word when using encodeUpdate). */
  readonly dim: number;
  /** SecAgg+ neighbours per client (k); >= group size - 1 means the complete graph. */
  readonly neighbours: number;
  /** Shares needed to reconstruct a secret (t), out of k + 1 holders (neighbours and self). */
  readonly threshold: number;
  /** The mask PRG (prg.ts), named by the bounty's spec. */
  readonly prg: PrgName;
}

export function checkParams(p: GroupParams): void {
  check(Number.isInteger(p.dim) && p.dim > 0, 'CONFIG', `dim must be > 0, got ${p.dim}`);
  check(Number.isInteger(p.neighbours) && p.neighbours >= 2, 'CONFIG', 'need k >= 2 neighbours');
  check(
    Number.isInteger(p.threshold) && p.threshold >= 2 && p.threshold <= p.neighbours + 1,
    'CONFIG',
    `threshold must be in [2, k + 1 = ${p.neighbours + 1}], got ${p.threshold}`,
  );
  check(PRG_NAMES.includes(p.prg), 'CONFIG', `unknown PRG ${String(p.prg)}`);
}
