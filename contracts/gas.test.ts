/** Guards the headline gas figures: the quick gas benchmark must stay within the targets. */
import { run } from '../test/bench/gas.js';

describe('gas', () => {
  it('records a 100-contributor round at <= 8000 gas per contribution', async () => {
    const r = await run({ quick: true });
    expect(r.gas_per_contribution_100).toBeLessThanOrEqual(8000);
    expect(r.gas_per_contribution_10).toBeLessThan(21_000);
    expect(r.gas_claim).toBeLessThan(150_000);
    expect(r.gas_buy_licence).toBeLessThan(200_000);
  });
});
