/** The catalogue's model size and task, read from a bounty spec. */
import { denseSpec } from '../../server/test/harness.js';
import { formatParams, taskOf } from '../../web/src/task.js';

describe('taskOf', () => {
  it('counts parameters and reads input shape and classes', () => {
    expect(taskOf(denseSpec(20, 4))).toEqual({ params: 84, inputShape: [20], classes: 4 });
    expect(taskOf({ modelTopology: {}, weightSpecs: [], loss: 'x' })).toEqual({
      params: 0,
      inputShape: null,
      classes: null,
    });
    expect(formatParams(6922)).toBe('6,922');
    expect(formatParams(2_500_000)).toBe('2.50 M');
  });
});
