/**
 * Model versions are read from PostgreSQL once: every agent of a round asks for the new version at
 * the same moment, and they share one read; a missing version is refused to all and not
 * remembered. Real PostgreSQL.
 */
import { jest } from '@jest/globals';
import { ModelVersion } from '../db/entities.js';
import type { RunningServer } from '../app.js';
import type { Chain } from '../chain/chain.service.js';
import { ProtocolError } from '../errors.js';
import {
  denseSpec,
  sponsorBounty,
  startTestChain,
  startTestServer,
  stopTestServer,
  syntheticTask,
} from '../test/harness.js';
import { ModelsService } from './models.service.js';

describe('ModelsService.get', () => {
  let chain: Chain;
  let server: RunningServer;
  let bountyId: number;

  beforeAll(async () => {
    chain = await startTestChain();
    server = await startTestServer(chain);
    ({ bountyId } = await sponsorBounty(server, chain, {
      sponsorKey: chain.keys![1]!,
      spec: denseSpec(4, 2, { minParticipants: 3 }),
      weights: new Float32Array(10).fill(0.5),
      validation: syntheticTask(4, 2, 20, 1),
      budget: 1_000n,
      rounds: 1,
      minParticipants: 3,
    }));
  });
  afterAll(async () => {
    await stopTestServer(server);
    await chain.stop!();
  });

  it('50 requests at once for a version not in memory make one read, then none', async () => {
    const models = new ModelsService(server.ds);
    const repo = server.ds.getRepository(ModelVersion);
    const reads = jest.spyOn(repo, 'findOneBy');
    try {
      const rows = await Promise.all(Array.from({ length: 50 }, () => models.get(bountyId, 0)));
      expect(reads).toHaveBeenCalledTimes(1);
      expect(new Set(rows.map((r) => r.hash)).size).toBe(1);
      expect(models.weightsOf(rows[0]!)[0]).toBe(0.5);
      await models.get(bountyId, 0);
      expect(reads).toHaveBeenCalledTimes(1);
      // A version that does not exist: NOT_FOUND for each asker, and asked again next time.
      const missing = await Promise.allSettled(
        Array.from({ length: 5 }, () => models.get(bountyId, 7)),
      );
      for (const m of missing) {
        expect(m.status).toBe('rejected');
        expect((m as PromiseRejectedResult).reason).toBeInstanceOf(ProtocolError);
        expect(((m as PromiseRejectedResult).reason as ProtocolError).code).toBe('NOT_FOUND');
      }
      expect(reads).toHaveBeenCalledTimes(2);
      await expect(models.get(bountyId, 7)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(reads).toHaveBeenCalledTimes(3);
    } finally {
      reads.mockRestore();
    }
  });
});
