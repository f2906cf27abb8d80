/**
 * Test harness: a server on its own Postgres schema and Redis prefix (the services are shared), a
 * dev chain with the contracts deployed, a sponsor who creates and funds a bounty on chain and
 * registers it over REST, and agents who join on chain.
 */
import { randomBytes } from 'node:crypto';
import { Wallet } from 'ethers';
import { startServer, type RunningServer } from '../app.js';
import { startLocalChain } from '../chain/attach.js';
import type { Chain } from '../chain/chain.service.js';
import { loadConfig, type ServerConfig } from '../config.js';
import { dropSchema } from '../db/datasource.js';
import { specHash } from '../bounties/bounties.service.js';
import type { BountySpec } from '../db/entities.js';
import { encodeValidation, validationHash, type ValidationSet } from '../models/validation.js';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Polls `pred` every 50 ms until it holds; throws after `ms`. */
export async function waitFor(pred: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

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
    gatherMs: 200,
    ...over,
  };
}

export function startTestChain(accounts = 20): Promise<Chain> {
  return startLocalChain(accounts);
}

export async function startTestServer(
  chain: Chain,
  over: Partial<ServerConfig> = {},
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

/** A dense softmax classifier `inputs` -> `classes` (kernel + bias) with round parameters. */
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
    loss: 'categoricalCrossentropy',
    licence: { open: false },
    ...over,
  };
}

export interface SponsoredBounty {
  bountyId: number;
  sponsor: Wallet;
}

/**
 * The sponsor's journey: create + fund the bounty on chain (hashes of the model and the validation
 * set), then register it with the server.
 */
export async function sponsorBounty(
  server: Pick<RunningServer, 'url'>,
  chain: Chain,
  opts: {
    sponsorKey: string;
    spec: BountySpec;
    weights: Float32Array;
    validation: ValidationSet;
    budget: bigint;
    rounds: number;
    minParticipants: number;
  },
): Promise<SponsoredBounty> {
  const sponsor = new Wallet(opts.sponsorKey, chain.provider);
  const { token, bounties } = chain.contracts;
  await token.transfer(sponsor.address, opts.budget);
  await token.connect(sponsor).approve(chain.addresses.bounties, opts.budget);
  const bin = Buffer.from(opts.weights.buffer, opts.weights.byteOffset, opts.weights.byteLength);
  const validation = encodeValidation(opts.validation);
  const { bountyId } = await bounties.connect(sponsor).createBounty({
    token: chain.addresses.token,
    budget: opts.budget,
    rounds: opts.rounds,
    minParticipants: opts.minParticipants,
    minStake: 0n,
    deadline: BigInt(Math.floor(Date.now() / 1000) + 3600),
    coordinator: chain.coordinator.address,
    modelSpecHash: specHash(opts.spec),
    validationSetHash: validationHash(validation),
  });
  const res = await fetch(`${server.url}/bounties`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      id: Number(bountyId),
      spec: opts.spec,
      initialWeights: bin.toString('base64'),
      validation: validation.toString('base64'),
    }),
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  return { bountyId: Number(bountyId), sponsor };
}

export async function joinOnChain(chain: Chain, key: string, bountyId: number): Promise<Wallet> {
  const w = new Wallet(key, chain.provider);
  await chain.contracts.bounties.connect(w).join(BigInt(bountyId), 0n);
  return w;
}

/** A synthetic classification task: class k has mean +1 on feature block k. */
export function syntheticTask(
  inputs: number,
  classes: number,
  n: number,
  seed: number,
): ValidationSet {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const x = new Float32Array(n * inputs);
  const y = new Int32Array(n);
  const block = Math.floor(inputs / classes);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * classes);
    y[i] = c;
    for (let j = 0; j < inputs; j++) {
      const signal = Math.floor(j / block) === c ? 1 : 0;
      x[i * inputs + j] = signal + (rand() - 0.5) * 1.5;
    }
  }
  return { shape: [inputs], classes, x, y };
}
