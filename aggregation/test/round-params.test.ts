import {
  AggregationError,
  checkRoundAgainstSpec,
  defaultGroupParams,
  makeQuantConfig,
  type BountySpec,
  type PrgName,
} from '../index.js';

const spec = {
  weightSpecs: [
    { name: 'k', shape: [4, 3], dtype: 'float32' },
    { name: 'b', shape: [3], dtype: 'float32' },
  ],
  minGroupSize: 4,
  clip: 2,
  weightCap: 50,
} as unknown as BountySpec;

const members = ['a', 'b', 'c', 'd', 'e'];
const honest = () => {
  const q = makeQuantConfig({ clip: 2, maxClients: 5, maxWeight: 50 });
  return {
    group: { members, ...defaultGroupParams(5), dim: 16, prg: 'chacha20' as PrgName },
    quant: { clip: q.clip, scale: q.scale, maxClients: q.maxClients, maxWeight: q.maxWeight },
  };
};

function codeAndMessage(f: () => void): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(AggregationError);
    return (e as AggregationError).message;
  }
}

describe('an agent checks a round against the bounty spec', () => {
  it('accepts the round an honest aggregator announces', () => {
    const { group, quant } = honest();
    expect(codeAndMessage(() => checkRoundAgainstSpec(spec, 'c', group, quant))).toBe('ok');
  });

  it('refuses every weakened or inconsistent parameter, naming it', () => {
    const cases: [string, (r: ReturnType<typeof honest>) => void, RegExp][] = [
      ['t', (r) => (r.group.threshold -= 1), /t = \d+, a group of 5 has t/],
      ['k', (r) => (r.group.neighbours -= 1), /k = \d+/],
      [
        'size',
        (r) => (r.group.members = members.slice(0, 3)),
        /group of 3, the spec asks at least 4/,
      ],
      ['dup', (r) => (r.group.members = ['a', 'a', 'b', 'c', 'd']), /twice/],
      ['clip', (r) => (r.quant.clip = 4), /clip 4/],
      ['cap', (r) => (r.quant.maxWeight = 5000), /weight cap 5000/],
      ['wrap', (r) => (r.quant.scale *= 4), /no-wrap/],
      ['dim', (r) => (r.group.dim = 15), /vectors of 15 words/],
      // The spec names no PRG: ChaCha20, as for every spec written before the field.
      ['prg', (r) => (r.group.prg = 'aes-128-ctr'), /PRG aes-128-ctr, the spec says chacha20/],
      ['me', (r) => (r.group.members = ['a', 'b', 'd', 'e', 'f']), /does not include/],
    ];
    for (const [, mutate, want] of cases) {
      const r = honest();
      mutate(r);
      expect(codeAndMessage(() => checkRoundAgainstSpec(spec, 'c', r.group, r.quant))).toMatch(
        new RegExp(`^SPEC_MISMATCH: .*${want.source}`),
      );
    }
  });

  it('holds a round to the PRG its spec names', () => {
    const { group, quant } = honest();
    const aes = { ...spec, prg: 'aes-128-ctr' } as BountySpec;
    expect(
      codeAndMessage(() =>
        checkRoundAgainstSpec(aes, 'c', { ...group, prg: 'aes-128-ctr' }, quant),
      ),
    ).toBe('ok');
    expect(codeAndMessage(() => checkRoundAgainstSpec(aes, 'c', group, quant))).toBe(
      'SPEC_MISMATCH: PRG chacha20, the spec says aes-128-ctr',
    );
  });
});
