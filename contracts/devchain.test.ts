/** The dev chain starts on a free port with funded keys and stops without leaving a process. */
import { Wallet } from 'ethers';
import { startDevChain } from './devchain.js';

describe('startDevChain', () => {
  it('serves funded accounts and stops cleanly', async () => {
    const chain = await startDevChain({ accounts: 3 });
    try {
      expect(chain.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(chain.keys).toHaveLength(3);
      expect(chain.addresses).toEqual(chain.keys.map((k) => new Wallet(k).address));
      expect(await chain.provider.getBalance(chain.addresses[2]!)).toBe(10_000n * 10n ** 18n);
      const other = await startDevChain({ accounts: 1 });
      expect(other.url).not.toBe(chain.url);
      await other.stop();
    } finally {
      await chain.stop();
      await chain.stop();
    }
    // the port no longer answers
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] });
    await expect(fetch(chain.url, { method: 'POST', body })).rejects.toThrow();
  });
});
