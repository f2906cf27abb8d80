/**
 * Test harness: a server on its own Postgres schema and Redis prefix (the services are shared),
 * a bounty seeded directly in the database, and in-process protocol agents.
 */
import { randomBytes } from 'node:crypto';
import { Wallet } from 'ethers';
import type { Chain } from '../chain/chain.service.js';
import { startServer, type RunningServer } from '../app.js';
import { loadConfig, type ServerConfig } from '../config.js';
import { dropSchema } from '../db/datasource.js';
import { Bounty, type BountySpec } from '../db/entities.js';
import { ModelsService } from '../models/models.service.js';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function testConfig(over: Partial<ServerConfig> = {}): ServerConfig {
  const tag = `t${randomBytes(4).toString('hex')}`;
  return {
    ...loadConfig({}),
    port: 0,
    host: '127.0.0.1',
    databaseUrl: DATABASE_URL,
    redisUrl: REDIS_URL,
    dbSchema: `test_${tag}`,
    redisPrefix: `test:${tag}`,
    stageTimeoutsMs: { keys: 5000, shares: 5000, masked: 20000, unmask: 5000 },
    ...over,
  };
}

/** A chain stand-in for tests that do not touch contracts (no RPC calls are made). */
export function offlineChain(): Chain {
  return {
    chainId: 31337,
    provider: undefined as never,
    coordinator: Wallet.createRandom() as unknown as Chain['coordinator'],
    contracts: {},
    addresses: {},
  };
}

export async function startTestServer(
  over: Partial<ServerConfig> = {},
  chain = offlineChain(),
): Promise<RunningServer> {
  return startServer(testConfig(over), {
    chain,
    logger: process.env.TEST_LOG ? ['log', 'warn', 'error'] : ['error'],
  });
}

export async function stopTestServer(s: RunningServer): Promise<void> {
  await s.close();
  await dropSchema(s.config.databaseUrl!, s.config.dbSchema);
}

/** A tiny dense model: `inputs` -> `classes` softmax (weights: kernel + bias). */
export function denseSpec(
  inputs: number,
  classes: number,
  over: Partial<BountySpec> = {},
): BountySpec {
  return {
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 'sequential',
        layers: [
          {
            class_name: 'Dense',
            config: {
              name: 'dense',
              units: classes,
              activation: 'softmax',
              use_bias: true,
              batch_input_shape: [null, inputs],
              dtype: 'float32',
              trainable: true,
              kernel_initializer: { class_name: 'Zeros', config: {} },
              bias_initializer: { class_name: 'Zeros', config: {} },
            },
          },
        ],
      },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    },
    weightSpecs: [
      { name: 'dense/kernel', shape: [inputs, classes], dtype: 'float32' },
      { name: 'dense/bias', shape: [classes], dtype: 'float32' },
    ],
    minGroupSize: 3,
    maxGroups: 8,
    minParticipants: 6,
    clip: 10,
    strategy: { name: 'fedavg' },
    train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
    loss: 'sparseCategoricalCrossentropy',
    licence: { open: true },
    ...over,
  };
}

export async function seedBounty(
  s: RunningServer,
  id: number,
  spec: BountySpec,
  initial: Float32Array,
  roundsTotal = 1,
): Promise<void> {
  const b = await s.ds.getRepository(Bounty).save({
    id,
    sponsor: Wallet.createRandom().address,
    spec,
    validationHash: '0x' + '00'.repeat(32),
    validation: Buffer.alloc(0),
    budget: '1000000',
    roundsTotal,
    status: 'open' as const,
  });
  await s.app.get(ModelsService).publish(s.ds.manager, b, 0, initial);
}
