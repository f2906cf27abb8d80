import { drawGroups } from './grouping.js';

describe('group drawing', () => {
  it('splits into at most maxGroups groups of at least 3, covering everyone once', () => {
    const people = Array.from({ length: 100 }, (_, i) => i);
    const groups = drawGroups(people, 3, 8);
    expect(groups).toHaveLength(8);
    expect(groups.every((g) => g.length >= 12)).toBe(true);
    expect(groups.flat().sort((a, b) => a - b)).toEqual(people);
    expect(drawGroups([1, 2, 3, 4, 5], 3, 8)).toHaveLength(1);
    expect(drawGroups([1, 2], 1, 8)).toHaveLength(0);
  });
});
