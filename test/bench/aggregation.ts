/**
 * Aggregation benchmark at d = 2^20 parameters: each figure is a ratio of two timings taken
 * side by side in this run (interleaved, median of repeats), so a noisy machine shifts both.
 *
 * - keystream_ms_aes_128_ctr, keystream_ms_chacha20: raw keystream of 4(d + 1) bytes from
 *   node:crypto for each mask PRG candidate, best of repeats taken alternately (the order flips
 *   each repeat); prg_keystream_speedup = the other candidate's / the chosen one's (`prg`, the
 *   PRG new bounties name). keystream_add_ms_*: the same keystream added into a vector
 *   (WordAccumulator.addKeystream, what clients and the server pay per mask), taken in the same
 *   alternation. Every figure below uses the chosen PRG.
 * - mask_vs_keystream: a client's masking time per expanded keystream (self mask + one per
 *   neighbour, including opening shares, key agreement and copying) / raw keystream of the same
 *   PRG, 4(d + 1) bytes from node:crypto, the physical floor.
 * - server_vs_floor_n100_drop10: the server's unmask + aggregate for 100 clients in the groups
 *   the protocol forms, 10 % dropped after sharing keys / (exactly as many raw keystreams as
 *   it must expand + a plain sum of the same number of vectors).
 * - secure_vs_plain_n100_drop10: the same server time / a plaintext sum of the 100 float vectors.
 * - comm_expansion_n100: bytes one client sends in all four stages / 4d.
 * - server_ms_per_client_nN_vs_n100 (N = 1,000 and 5,000; d = 2^16): how the server's unmask +
 *   aggregate cost per client grows with n, in the groups the protocol forms (at most 8, so they
 *   grow with n) with 10 % dropped after sharing keys; taken interleaved, paired per repeat. With
 *   SecAgg+'s k = O(log group size) it should stay near log n / log 100 (1.5 and 1.85).
 */
import { randomBytes } from 'node:crypto';
import {
  DEFAULT_PRG,
  PRG_NAMES,
  SecAggClient,
  SecAggGroupServer,
  WordAccumulator,
  defaultGroupParams,
  encodeUpdate,
  keystreamCipher,
  makeQuantConfig,
  makeRng,
  planGroups,
  type GroupParams,
  type PrgName,
} from '../../aggregation/index.js';
import type { BenchOptions, BenchResult } from './run.js';

const D = 1 << 20;
/** The PRG every figure but the candidates' keystreams is measured with. */
const PRG = DEFAULT_PRG;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const ZERO = Buffer.alloc(64 * 1024);
/** The floor: 4 * words bytes of raw `prg` keystream, the fastest way node:crypto allows. */
function rawKeystream(words: number, prg: PrgName = PRG): number {
  const c = keystreamCipher(prg, randomBytes(32));
  let x = 0;
  for (let off = 0; off < words * 4; off += ZERO.length) {
    const n = Math.min(ZERO.length, words * 4 - off);
    x ^= c.update(n === ZERO.length ? ZERO : ZERO.subarray(0, n))[0]!;
  }
  return x;
}

function timed<T>(f: () => T): [number, T] {
  const t = performance.now();
  const r = f();
  return [performance.now() - t, r];
}
async function timedAsync<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await f();
  return [performance.now() - t, r];
}

/** Bytes a message occupies on the wire: binary fields raw, the rest as JSON (Socket.IO framing). */
function wireBytes(msg: unknown): number {
  let bin = 0;
  const json = JSON.stringify(msg, (_k, v: unknown) => {
    if (v instanceof Uint8Array) {
      bin += v.byteLength;
      return { _placeholder: true, num: 0 };
    }
    return v;
  });
  return bin + Buffer.byteLength(json);
}

interface Prepared {
  params: GroupParams;
  server: SecAggGroupServer;
  unmasks: unknown[];
}

/**
 * Runs stages 1-3 for every group and collects the unmask messages, ready for the server's stage 4.
 * With `dim` given, clients mask a 1-word input and the server gets random `dim`-word vectors in
 * their place: the server's unmask work is the same (it never checks the sum), the clients' is not
 * spent (the scaling runs only time the server).
 */
async function prepareRound(
  ids: string[],
  dropped: Set<string>,
  inputs: Map<string, Uint32Array>,
  dim = D + 1,
): Promise<Prepared[]> {
  const groups = planGroups(ids, { minGroupSize: 3, maxGroups: 8, rng: makeRng(42) });
  const out: Prepared[] = [];
  const stubbed = dim !== D + 1;
  const filler = stubbed ? new Uint8Array(randomBytes(dim * 4)) : undefined;
  for (const [gi, members] of groups.entries()) {
    const params: GroupParams = {
      round: 'bench:1',
      group: `g${gi}`,
      dim,
      ...defaultGroupParams(members.length),
      prg: PRG,
    };
    const server = new SecAggGroupServer(params, members);
    const clientParams = stubbed ? { ...params, dim: 1 } : params;
    const clients = members.map((id) => new SecAggClient(id, clientParams));
    for (const c of clients) await server.receive(await c.advertise());
    const roster = server.closeAdvertise();
    for (const c of clients) await server.receive(await c.shareKeys(roster));
    const inbox = server.closeShares();
    const alive = clients.filter((c) => !dropped.has(c.id));
    for (const c of alive) {
      const m = await c.maskInput(
        inbox.get(c.id),
        stubbed ? new Uint32Array(1) : inputs.get(c.id)!,
      );
      await server.receive(filler ? { ...m, vector: filler } : m);
    }
    const req = server.closeMasked();
    for (const c of alive) await server.receive(await c.confirm(req));
    const confirmations = server.closeConfirm();
    const unmasks = [];
    for (const c of alive) unmasks.push(await c.unmask(confirmations.get(c.id)));
    out.push({ params, server, unmasks });
  }
  return out;
}

/** How the server's unmask + aggregate cost per client grows: n = 100, 1,000, 5,000 at d = 2^16. */
async function scaling(quick: boolean): Promise<BenchResult> {
  const dScale = (1 << 16) + 1;
  const sizes = [100, 1000, 5000];
  const scale: BenchResult = {};
  const perClient = new Map<number, number[]>(sizes.map((s) => [s, []]));
  const ratios = new Map<number, number[]>(sizes.map((s) => [s, []]));
  const group = (size: number) => {
    const sid = Array.from({ length: size }, (_, i) => `0x${i.toString(16).padStart(40, '0')}`);
    return { sid, drop: new Set(sid.filter((_, i) => i % 10 === 3)) };
  };
  // One untimed round first, so the first timed size does not pay for the JIT's warm-up.
  {
    const { sid, drop } = group(100);
    for (const p of await prepareRound(sid, drop, new Map(), dScale)) {
      for (const u of p.unmasks) await p.server.receive(u);
      await p.server.finish();
    }
  }
  for (let r = 0; r < (quick ? 1 : 3); r++) {
    const ms = new Map<number, number>();
    for (const size of sizes) {
      const { sid, drop } = group(size);
      const prepared = await prepareRound(sid, drop, new Map(), dScale);
      const [t] = await timedAsync(async () => {
        for (const p of prepared) {
          for (const u of p.unmasks) await p.server.receive(u);
          await p.server.finish();
        }
      });
      ms.set(size, t);
      perClient.get(size)!.push(t / size);
      if (r === 0) {
        scale[`server_ms_n${size}_d65536`] = +t.toFixed(1);
        scale[`neighbours_k_n${size}`] = prepared[0]!.params.neighbours;
      }
    }
    for (const size of sizes) ratios.get(size)!.push(ms.get(size)! / size / (ms.get(100)! / 100));
  }
  for (const size of sizes)
    scale[`server_ms_per_client_n${size}`] = +median(perClient.get(size)!).toFixed(3);
  for (const size of sizes.slice(1))
    scale[`server_ms_per_client_n${size}_vs_n100`] = +median(ratios.get(size)!).toFixed(3);

  return scale;
}

export async function run({ quick }: BenchOptions): Promise<BenchResult> {
  // AGGREGATION_BENCH_ONLY=scale runs the scaling part alone (for profiling).
  if (process.env.AGGREGATION_BENCH_ONLY === 'scale') return scaling(quick);
  const reps = quick ? 5 : 15;
  const cfg = makeQuantConfig({ clip: 10, maxClients: 100, maxWeight: 1000 });
  const rng = makeRng(1);
  const delta = () => Float32Array.from({ length: D }, () => (rng() - 0.5) * 0.01);

  // ---- the PRG candidates' raw keystreams, alternately ---------------------------------
  const best = new Map<PrgName, number>(PRG_NAMES.map((p) => [p, Infinity]));
  const bestAdd = new Map<PrgName, number>(PRG_NAMES.map((p) => [p, Infinity]));
  const into = new WordAccumulator(D + 1);
  for (const p of PRG_NAMES) rawKeystream(D + 1, p); // warm-up
  for (let r = 0; r < (quick ? 15 : 60); r++) {
    const order = r % 2 ? [...PRG_NAMES].reverse() : PRG_NAMES;
    for (const p of order) {
      const [t] = timed(() => rawKeystream(D + 1, p));
      best.set(p, Math.min(best.get(p)!, t));
      const seed = randomBytes(32);
      const [ta] = timed(() => into.addKeystream(seed, 1, p));
      bestAdd.set(p, Math.min(bestAdd.get(p)!, ta));
    }
  }
  const other = PRG_NAMES.find((p) => p !== PRG)!;
  const candidates: BenchResult = { prg: PRG };
  const key = (p: PrgName) => p.replace(/-/g, '_');
  for (const p of PRG_NAMES) candidates[`keystream_ms_${key(p)}`] = +best.get(p)!.toFixed(3);
  candidates.prg_keystream_speedup = +(best.get(other)! / best.get(PRG)!).toFixed(3);
  for (const p of PRG_NAMES) candidates[`keystream_add_ms_${key(p)}`] = +bestAdd.get(p)!.toFixed(3);

  // ---- client masking vs raw keystream -------------------------------------------------
  const groupSize = 13; // what planGroups forms for 100 clients in 8 groups
  const gp: GroupParams = {
    round: 'bench:0',
    group: 'g',
    dim: D + 1,
    ...defaultGroupParams(groupSize),
    prg: PRG,
  };
  const x = encodeUpdate(delta(), 500, cfg, rng);
  const maskTimes: number[] = [];
  const ksTimes: number[] = [];
  // Ratios are paired per repeat (taken back to back), then the median is reported.
  const maskRatios: number[] = [];
  let commBytes = 0;
  for (let r = 0; r < reps; r++) {
    const ids = Array.from({ length: groupSize }, (_, i) => `c${String(i).padStart(2, '0')}`);
    const server = new SecAggGroupServer(gp, ids);
    const clients = ids.map((id) => new SecAggClient(id, gp));
    const sent = new Map<string, number>(ids.map((id) => [id, 0]));
    for (const c of clients) {
      const m = await c.advertise();
      sent.set(c.id, sent.get(c.id)! + wireBytes(m));
      await server.receive(m);
    }
    const roster = server.closeAdvertise();
    for (const c of clients) {
      const m = await c.shareKeys(roster);
      sent.set(c.id, sent.get(c.id)! + wireBytes(m));
      await server.receive(m);
    }
    const inbox = server.closeShares();
    const expansions = 1 + inbox.get(clients[0]!.id)!.length;
    // The floor is measured right before and right after, over as many keystreams.
    const rawRun = () => {
      for (let k = 0; k < expansions; k++) rawKeystream(D + 1);
    };
    const [tKsBefore] = timed(rawRun);
    const [tMask, masked] = await timedAsync(() =>
      clients[0]!.maskInput(inbox.get(clients[0]!.id), x),
    );
    const [tKsAfter] = timed(rawRun);
    const tKs = (tKsBefore + tKsAfter) / 2 / expansions;
    maskTimes.push(tMask / expansions);
    ksTimes.push(tKs);
    maskRatios.push(tMask / expansions / tKs);
    if (r === 0) {
      sent.set(clients[0]!.id, sent.get(clients[0]!.id)! + wireBytes(masked));
      await server.receive(masked);
      for (const c of clients.slice(1)) await server.receive(await c.maskInput(inbox.get(c.id), x));
      const req = server.closeMasked();
      const confirms = await Promise.all(clients.map((c) => c.confirm(req)));
      for (const m of confirms) await server.receive(m);
      const confirmations = server.closeConfirm();
      commBytes =
        sent.get(clients[0]!.id)! +
        wireBytes(confirms[0]!) +
        wireBytes(await clients[0]!.unmask(confirmations.get(clients[0]!.id)));
    }
  }
  const maskPer = median(maskTimes);
  const ks = median(ksTimes);

  // ---- server: 100 clients, 10 % dropped after sharing keys ----------------------------
  const n = 100;
  const ids = Array.from({ length: n }, (_, i) => `0x${i.toString(16).padStart(40, '0')}`);
  const inputs = new Map(
    ids.map((id) => [id, encodeUpdate(delta(), 1 + (id.charCodeAt(41) % 500), cfg, rng)]),
  );
  const floats = ids.map(() => delta());
  const dropped = new Set(ids.filter((_, i) => i % 10 === 3));
  const serverTimes: number[] = [];
  const floorTimes: number[] = [];
  const plainTimes: number[] = [];
  const serverRatios: number[] = [];
  const plainRatios: number[] = [];
  let keystreams = 0;
  let vectors = 0;
  for (let r = 0; r < (quick ? 2 : 7); r++) {
    const prepared = await prepareRound(ids, dropped, inputs);
    keystreams = prepared.reduce((s, p) => s + p.server.keystreamCount(), 0);
    vectors = n - dropped.size;
    // Floor: per group, as many raw keystreams as its server must expand plus a plain sum of
    // its masked vectors, measured right before and right after that group's unmask +
    // aggregate (interleaved group by group, so both sides see the same machine), averaged.
    let tServer = 0;
    let tFloor = 0;
    for (const p of prepared) {
      const members = new Set(p.unmasks.map((u) => (u as { client: string }).client));
      const vecs = [...inputs.entries()].filter(([id]) => members.has(id)).map(([, v]) => v);
      const ks = p.server.keystreamCount();
      const floorRun = () => {
        for (let k = 0; k < ks; k++) rawKeystream(D + 1);
        const acc = new WordAccumulator(D + 1);
        for (const v of vecs) acc.addWords(v);
        return acc;
      };
      const [f1] = timed(floorRun);
      const [ts] = await timedAsync(async () => {
        for (const u of p.unmasks) await p.server.receive(u);
        await p.server.finish();
      });
      const [f2] = timed(floorRun);
      tServer += ts;
      tFloor += (f1 + f2) / 2;
    }
    // plaintext FedAvg: sum of the 100 float vectors
    const [tPlain] = timed(() => {
      const acc = new Float32Array(D);
      for (const v of floats) for (let i = 0; i < D; i++) acc[i]! += v[i]!;
      return acc;
    });
    serverTimes.push(tServer);
    serverRatios.push(tServer / tFloor);
    plainRatios.push(tServer / tPlain);
    floorTimes.push(tFloor);
    plainTimes.push(tPlain);
  }
  const server = median(serverTimes);
  const floor = median(floorTimes);
  const plain = median(plainTimes);

  return {
    d: D,
    ...candidates,
    mask_vs_keystream: +median(maskRatios).toFixed(3),
    mask_ms_per_keystream: +maskPer.toFixed(3),
    keystream_ms: +ks.toFixed(3),
    server_vs_floor_n100_drop10: +median(serverRatios).toFixed(3),
    server_ms_n100_drop10: +server.toFixed(1),
    floor_ms_n100_drop10: +floor.toFixed(1),
    server_keystreams_n100_drop10: keystreams,
    server_vectors_n100_drop10: vectors,
    secure_vs_plain_n100_drop10: +median(plainRatios).toFixed(3),
    plain_fedavg_sum_ms_n100: +plain.toFixed(1),
    comm_expansion_n100: +(commBytes / (4 * D)).toFixed(5),
    client_bytes_sent: commBytes,
    ...(await scaling(quick)),
  };
}
