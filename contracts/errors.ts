/**
 * Typed contract errors: every custom Solidity error of the three contracts (and of the
 * OpenZeppelin code they use) is decoded into a `ChainError` whose `code` names it.
 */
import { Interface, isCallException, type ErrorDescription } from 'ethers';
import { BountiesArtifact, ModelRegistryArtifact, RewardTokenArtifact } from './artifacts/index.js';
import {
  CONTRACT_ERROR_CODES,
  ChainError,
  type ChainErrorCode,
  type ContractErrorCode,
} from './chain-error.js';

export {
  CONTRACT_ERROR_CODES,
  ChainError,
  type ChainErrorCode,
  type ContractErrorCode,
} from './chain-error.js';

function combinedErrors(): Interface {
  const seen = new Set<string>();
  const fragments: unknown[] = [];
  for (const abi of [BountiesArtifact.abi, ModelRegistryArtifact.abi, RewardTokenArtifact.abi]) {
    for (const f of abi as readonly {
      type: string;
      name?: string;
      inputs?: readonly { type: string }[];
    }[]) {
      if (f.type !== 'error') continue;
      const sig = `${f.name}(${(f.inputs ?? []).map((i) => i.type).join(',')})`;
      if (seen.has(sig)) continue;
      seen.add(sig);
      fragments.push(f);
    }
  }
  return new Interface(fragments as ConstructorParameters<typeof Interface>[0]);
}

/** An interface holding every custom error of the contracts. */
export const contractErrors = combinedErrors();

const knownCodes = new Set<string>(CONTRACT_ERROR_CODES);

function revertData(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  let e: unknown = err;
  // ethers nests the revert data in `data`, `info.error.data` or `error.data` depending on the path.
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    const o = e as { data?: unknown; error?: unknown; info?: { error?: unknown }; cause?: unknown };
    if (typeof o.data === 'string' && o.data.startsWith('0x') && o.data.length >= 10) return o.data;
    if (o.data && typeof o.data === 'object') {
      const d = (o.data as { data?: unknown }).data;
      if (typeof d === 'string' && d.startsWith('0x') && d.length >= 10) return d;
    }
    e = o.info?.error ?? o.error ?? o.cause;
  }
  return undefined;
}

/** Turns whatever ethers threw into a `ChainError` (returns `err` itself if it already is one). */
export function toChainError(err: unknown): ChainError {
  if (err instanceof ChainError) return err;
  const data = revertData(err);
  let desc: ErrorDescription | null = null;
  if (data) {
    try {
      desc = contractErrors.parseError(data);
    } catch {
      desc = null;
    }
  }
  if (desc && knownCodes.has(desc.name)) {
    const args = [...desc.args];
    const shown = args.map((a) => (typeof a === 'bigint' ? a.toString() : String(a))).join(', ');
    return new ChainError(desc.name as ContractErrorCode, args, `${desc.name}(${shown})`, {
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  const code: ChainErrorCode = isCallException(err) || data ? 'REVERTED' : 'CHAIN_FAILURE';
  return new ChainError(code, [], message, { cause: err });
}
