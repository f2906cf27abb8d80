/** The committed artifacts are what contracts/src compiles to, and the error codes match the ABIs. */
import { writeArtifacts } from './compile.js';
import { BountiesArtifact, ModelRegistryArtifact, RewardTokenArtifact } from './artifacts/index.js';
import { CONTRACT_ERROR_CODES, contractErrors, toChainError } from './errors.js';

describe('artifacts', () => {
  it('match a fresh solc-js compile of contracts/src', () => {
    const { stale } = writeArtifacts(true);
    expect(stale).toEqual([]);
  });

  it('declare exactly the typed error codes', () => {
    const names = new Set<string>();
    for (const abi of [BountiesArtifact.abi, ModelRegistryArtifact.abi, RewardTokenArtifact.abi]) {
      for (const f of abi as readonly { type: string; name?: string }[])
        if (f.type === 'error') names.add(f.name!);
    }
    expect([...names].sort()).toEqual([...CONTRACT_ERROR_CODES].sort());
  });

  it('decode revert data into typed errors', () => {
    const data = contractErrors.encodeErrorResult('OverBudget', [11n, 10n]);
    const err = toChainError({ code: 'CALL_EXCEPTION', data });
    expect(err.code).toBe('OverBudget');
    expect(err.args).toEqual([11n, 10n]);
    expect(toChainError(new Error('socket hang up')).code).toBe('CHAIN_FAILURE');
    expect(toChainError({ code: 'CALL_EXCEPTION', data: '0xdeadbeef' }).code).toBe('REVERTED');
  });
});
