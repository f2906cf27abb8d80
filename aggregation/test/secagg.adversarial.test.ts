import fc from 'fast-check';
import { Wallet, verifyMessage } from 'ethers';
import { combine, split } from 'shamir-secret-sharing';
import { randomBytes } from 'node:crypto';
import {
  AggregationError,
  CertificateCache,
  PRG_NAMES,
  SecAggClient,
  SecAggGroupServer,
  consistencyPayload,
  createIdentity,
  keysPayload,
  signRound,
  sumWords,
  type AdvertiseKeys,
  type AgentIdentity,
  type CertificateScope,
  type GroupParams,
} from '../index.js';
import { generateKeyPair, openShare } from '../secagg/keys.js';
import { combineShares } from '../secagg/shamir.js';

const params: GroupParams = {
  round: 'b1:r1',
  group: 'g0',
  dim: 64,
  neighbours: 4,
  threshold: 3,
  prg: 'aes-128-ctr',
};

const scope: CertificateScope = { chainId: 31337, bountyId: 1 };
const wallets = Array.from({ length: 5 }, () => Wallet.createRandom());
/** Each wallet's Ed25519 key for bounty 1 on chain 31337, certified once (identity.ts). */
let identities: AgentIdentity[] = [];
beforeAll(async () => {
  identities = await Promise.all(
    wallets.map((w) => createIdentity(scope, w.address, (m) => w.signMessage(m))),
  );
});
const certificates = () => new CertificateCache(scope, (m, sig) => verifyMessage(m, sig)).checker;

function setup() {
  const members = wallets.map((w) => w.address);
  const server = new SecAggGroupServer(params, members, certificates());
  const clients = wallets.map(
    (w, i) =>
      new SecAggClient(w.address, params, {
        identity: identities[i]!,
        certificates: certificates(),
      }),
  );
  return { server, clients };
}

/** `m` re-signed under `identity` (a valid Ed25519 signature under whatever key it certifies). */
function resigned(m: AdvertiseKeys, identity: AgentIdentity): AdvertiseKeys {
  const entry = { ...m, cert: identity.certificate };
  return { ...entry, signature: signRound(identity, keysPayload(entry)) };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AggregationError);
    return (e as AggregationError).code;
  }
  throw new Error('expected a rejection');
}

describe('SecAgg+ rejects bad messages with codes and changes nothing', () => {
  it('forged, replayed, wrong-stage, wrong-length, malformed and foreign messages', async () => {
    const { server, clients } = setup();
    const inputs = clients.map((_, i) => new Uint32Array(params.dim).fill(i + 1));
    const adv = await Promise.all(clients.map((c) => c.advertise()));

    // forged: client 0's keys under the key wallet 1 certified, or with a signature of other bytes
    expect(await code(server.receive(resigned(adv[0]!, identities[1]!)))).toBe('BAD_SIGNATURE');
    const other = signRound(identities[0]!, new TextEncoder().encode('x'));
    expect(await code(server.receive({ ...adv[0]!, signature: other }))).toBe('BAD_SIGNATURE');
    // tampered key under a valid signature; no signature or certificate at all
    expect(await code(server.receive({ ...adv[0]!, sPk: randomBytes(32) }))).toBe('BAD_SIGNATURE');
    const { cert: _c, signature: _s, ...bare } = adv[0]!;
    expect(await code(server.receive(bare))).toBe('BAD_SIGNATURE');
    // malformed
    expect(await code(server.receive({ ...adv[0]!, cPk: new Uint8Array(31) }))).toBe('BAD_MESSAGE');
    expect(await code(server.receive({ type: 'advertise' }))).toBe('BAD_MESSAGE');
    expect(await code(server.receive('hello'))).toBe('BAD_MESSAGE');
    // another round / a non-member
    expect(await code(server.receive({ ...adv[0]!, round: 'b1:r0' }))).toBe('WRONG_ROUND');
    const outsider = Wallet.createRandom();
    expect(await code(server.receive({ ...adv[0]!, client: outsider.address }))).toBe(
      'NOT_IN_GROUP',
    );

    for (const m of adv) await server.receive(m);
    expect(await code(server.receive(adv[0]))).toBe('DUPLICATE'); // replay
    const roster = server.closeAdvertise();
    expect(await code(server.receive(adv[1]))).toBe('STAGE_CLOSED'); // late

    const shares = await Promise.all(clients.map((c) => c.shareKeys(roster)));
    // wrong stage: a masked input while shares are collected
    const early = {
      type: 'masked',
      round: params.round,
      group: params.group,
      client: clients[0]!.id,
      vector: new Uint8Array(params.dim * 4),
    };
    expect(await code(server.receive(early))).toBe('STAGE_CLOSED');
    // shares must go exactly to the sender's neighbours
    expect(await code(server.receive({ ...shares[0]!, shares: shares[0]!.shares.slice(1) }))).toBe(
      'BAD_SHARE',
    );
    for (const m of shares) await server.receive(m);
    const inboxes = server.closeShares();

    const masked = await Promise.all(
      clients.map((c, i) => c.maskInput(inboxes.get(c.id), inputs[i]!)),
    );
    expect(
      await code(server.receive({ ...masked[0]!, vector: new Uint8Array(params.dim * 4 - 4) })),
    ).toBe('VECTOR_LENGTH');
    for (const m of masked) await server.receive(m);
    expect(await code(server.receive(masked[2]))).toBe('DUPLICATE');
    const req = server.closeMasked();
    for (const c of clients) await server.receive(await c.confirm(req));
    const confirmations = server.closeConfirm();
    const unmasks = await Promise.all(clients.map((c) => c.unmask(confirmations.get(c.id))));
    // an unmask message claiming a share it cannot hold
    const bogus = { ...unmasks[0]!, sShares: [{ of: clients[1]!.id, share: new Uint8Array(33) }] };
    expect(await code(server.receive(bogus))).toBe('BAD_SHARE');
    for (const m of unmasks) await server.receive(m);

    // None of the rejected messages changed anything: the sum is right.
    const { sum } = await server.finish();
    expect(sum).toEqual(sumWords(inputs));
  });

  it('clients verify relayed keys and refuse requests that would unmask an input', async () => {
    const { server, clients } = setup();
    const adv = await Promise.all(clients.map((c) => c.advertise()));
    for (const m of adv) await server.receive(m);
    const roster = server.closeAdvertise();
    // A server swapping in its own keys for client 1 is caught by the signature...
    const mitm = roster.map((m, i) => (i === 1 ? { ...m, cPk: randomBytes(32) } : m));
    expect(await code(clients[0]!.shareKeys(mitm))).toBe('BAD_SIGNATURE');
    // ...and re-signing them with a key of its own needs client 1's wallet to certify that key.
    const own = await createIdentity(scope, roster[1]!.client, (m) =>
      Wallet.createRandom().signMessage(m),
    );
    const swapped = roster.map((m, i) =>
      i === 1 ? resigned({ ...m, cPk: randomBytes(32) }, own) : m,
    );
    expect(await code(clients[0]!.shareKeys(swapped))).toBe('BAD_SIGNATURE');

    const shares = await Promise.all(clients.slice(1).map((c) => c.shareKeys(roster)));
    for (const m of shares) await server.receive(m);
    await server.receive(await clients[0]!.shareKeys(roster));
    const inboxes = server.closeShares();
    const x = new Uint32Array(params.dim).fill(7);
    const masked = await Promise.all(clients.map((c) => c.maskInput(inboxes.get(c.id), x)));
    for (const m of masked) await server.receive(m);
    const req = server.closeMasked();
    // Asking for both the self-mask and the key of the same client is refused.
    const greedy = { ...req, dropped: [req.survivors[1]!] };
    expect(await code(clients[0]!.confirm(greedy))).toBe('PROTOCOL_VIOLATION');
    // A share opened with the wrong recipient key fails to decrypt.
    const { ciphertext, from } = inboxes.get(clients[1]!.id)![0]!;
    const senderPk = roster.find((m) => m.client === from)!.cPk;
    expect(await code((async () => openShare(ciphertext, senderPk, generateKeyPair()))())).toBe(
      'BAD_SHARE',
    );
  });

  it.each(PRG_NAMES)(
    'a masked input looks uniform to the server under %s (chi-square over its words)',
    async (prg) => {
      const p: GroupParams = {
        round: 'r',
        group: 'g',
        dim: 1 << 14,
        neighbours: 2,
        threshold: 2,
        prg,
      };
      const ids = ['a', 'b', 'c'];
      const server = new SecAggGroupServer(p, ids);
      const clients = ids.map((id) => new SecAggClient(id, p));
      for (const c of clients) await server.receive(await c.advertise());
      const roster = server.closeAdvertise();
      for (const c of clients) await server.receive(await c.shareKeys(roster));
      const inbox = server.closeShares();
      // a maximally structured input: all zeros
      const y = await clients[0]!.maskInput(inbox.get('a'), new Uint32Array(p.dim));
      const words = new Uint32Array(new Uint8Array(y.vector).buffer);
      const bins = new Array<number>(256).fill(0);
      for (const w of words) bins[w >>> 24]!++;
      const e = words.length / 256;
      const chi2 = bins.reduce((s, o) => s + (o - e) ** 2 / e, 0);
      // 255 degrees of freedom: P(chi2 > 330.5) = 0.001
      expect(chi2).toBeLessThan(330.5);
      // the same statistic flags the unmasked input
      expect((words.length - e) ** 2 / e).toBeGreaterThan(330.5);
    },
  );

  it('fewer than t shares reveal nothing: reconstruction is refused, and raw combination is wrong', async () => {
    const secret = new Uint8Array(randomBytes(32));
    const shares = await split(secret, 5, 3);
    await expect(combineShares(shares.slice(0, 2), 3)).rejects.toMatchObject({
      code: 'BELOW_THRESHOLD',
    });
    expect(Buffer.from(await combineShares(shares.slice(1, 4), 3))).toEqual(Buffer.from(secret));
    // With t - 1 shares the interpolation yields some other value, not the secret.
    for (let k = 0; k < 10; k++) {
      const s = await split(secret, 5, 3);
      expect(Buffer.from(await combine(s.slice(0, 2)))).not.toEqual(Buffer.from(secret));
    }
  });
});

describe('a bad share at unmask is outvoted while t good ones remain', () => {
  /** Runs a group of `n` to the end of stage 3 with all members surviving. */
  async function toUnmask(p: GroupParams, n: number, dropAfterShare: number[] = []) {
    const ids = Array.from({ length: n }, (_, i) => `c${i}`);
    const server = new SecAggGroupServer(p, ids);
    const clients = ids.map((id) => new SecAggClient(id, p));
    for (const c of clients) await server.receive(await c.advertise());
    const roster = server.closeAdvertise();
    for (const c of clients) await server.receive(await c.shareKeys(roster));
    const inboxes = server.closeShares();
    const inputs = ids.map((_, i) => new Uint32Array(p.dim).fill(100 + i));
    const alive = clients.filter((_, i) => !dropAfterShare.includes(i));
    for (const c of alive) {
      await server.receive(await c.maskInput(inboxes.get(c.id), inputs[clients.indexOf(c)]!));
    }
    const req = server.closeMasked();
    for (const c of alive) await server.receive(await c.confirm(req));
    const confirmations = server.closeConfirm();
    const unmasks = await Promise.all(alive.map((c) => c.unmask(confirmations.get(c.id))));
    const survivorInputs = alive.map((c) => inputs[clients.indexOf(c)]!);
    return { server, unmasks, survivorInputs };
  }
  const garble = (share: Uint8Array) => {
    const g = new Uint8Array(randomBytes(33));
    g[32] = share[32]!; // keep the x coordinate, so only the value is wrong
    return g;
  };

  it('one garbage b share of three (t = 2): the group sums exactly and names the holder', async () => {
    const p: GroupParams = {
      round: 'r',
      group: 'g',
      dim: 32,
      neighbours: 2,
      threshold: 2,
      prg: 'aes-128-ctr',
    };
    const { server, unmasks, survivorInputs } = await toUnmask(p, 3);
    const liar = unmasks[0]!;
    const bad = { ...liar, bShares: liar.bShares.map((s) => ({ ...s, share: garble(s.share) })) };
    for (const m of [bad, ...unmasks.slice(1)]) await server.receive(m);
    const res = await server.finish();
    expect(res.sum).toEqual(sumWords(survivorInputs));
    expect(new Set(res.badShares.map((b) => b.holder))).toEqual(new Set(['c0']));
    expect(res.badShares.length).toBe(liar.bShares.length);
  });

  it('garbage s shares of a dropout are outvoted too', async () => {
    const p: GroupParams = {
      round: 'r',
      group: 'g',
      dim: 32,
      neighbours: 4,
      threshold: 3,
      prg: 'aes-128-ctr',
    };
    const { server, unmasks, survivorInputs } = await toUnmask(p, 5, [4]);
    const liar = unmasks[1]!;
    expect(liar.sShares.length).toBe(1);
    const bad = { ...liar, sShares: liar.sShares.map((s) => ({ ...s, share: garble(s.share) })) };
    for (const m of [unmasks[0]!, bad, ...unmasks.slice(2)]) await server.receive(m);
    const res = await server.finish();
    expect(res.sum).toEqual(sumWords(survivorInputs));
    expect(res.badShares).toContainEqual({ holder: 'c1', secret: 's:c4' });
  });

  it('with fewer than t good shares the group fails with a code, never a wrong sum', async () => {
    const p: GroupParams = {
      round: 'r',
      group: 'g',
      dim: 32,
      neighbours: 2,
      threshold: 2,
      prg: 'aes-128-ctr',
    };
    const { server, unmasks } = await toUnmask(p, 3);
    const bad = unmasks.map((u, i) =>
      i < 2 ? { ...u, bShares: u.bShares.map((s) => ({ ...s, share: garble(s.share) })) } : u,
    );
    for (const m of bad) await server.receive(m);
    expect(await code(server.finish())).toBe('RECONSTRUCTION_MISMATCH');
  });
});

describe('undecryptable shares are complained about, and the group goes on', () => {
  const p: GroupParams = {
    round: 'r',
    group: 'g',
    dim: 16,
    neighbours: 4,
    threshold: 3,
    prg: 'aes-128-ctr',
  };
  const ids = ['c0', 'c1', 'c2', 'c3', 'c4'];

  /**
   * Runs one group in which `garble(from, to)` says which boxed shares are replaced by random
   * bytes on their way out, and `lie` which client falsely rejects which; returns the result.
   */
  async function run(
    garble: (from: string, to: string) => boolean,
    lie?: { by: string; of: string },
    leaveAfterMasking: readonly string[] = [],
  ) {
    const server = new SecAggGroupServer(p, ids);
    const clients = ids.map((id) => new SecAggClient(id, p));
    for (const c of clients) await server.receive(await c.advertise());
    const roster = server.closeAdvertise();
    for (const c of clients) {
      const m = await c.shareKeys(roster);
      const shares = m.shares.map((s) =>
        garble(c.id, s.to)
          ? { ...s, ciphertext: new Uint8Array(randomBytes(s.ciphertext.length)) }
          : s,
      );
      await server.receive({ ...m, shares });
    }
    const inboxes = server.closeShares();
    const inputs = ids.map((_, i) => new Uint32Array(p.dim).fill(1000 * (i + 1)));
    const refused: string[] = [];
    for (const [i, c] of clients.entries()) {
      const m = await c.maskInput(inboxes.get(c.id), inputs[i]!);
      // A liar claims a share failed although it opened (it still masked with that peer); it
      // cannot name the pair seed without showing it masked with it, so it sends none.
      const rejected = lie?.by === c.id ? [...(m.rejected ?? []), lie.of] : m.rejected;
      try {
        await server.receive({ ...m, ...(rejected ? { rejected } : {}) });
      } catch (e) {
        refused.push(`${c.id}: ${(e as AggregationError).code}`);
      }
    }
    const req = server.closeMasked();
    const summed = clients.filter(
      (c) => req.survivors.includes(c.id) && !leaveAfterMasking.includes(c.id),
    );
    for (const c of summed) await server.receive(await c.confirm(req));
    const confirmations = server.closeConfirm();
    for (const c of summed) await server.receive(await c.unmask(confirmations.get(c.id)));
    const res = await server.finish();
    const expected = sumWords(
      ids.filter((id) => res.included.includes(id)).map((id) => inputs[ids.indexOf(id)]!),
    );
    return { res, req, expected, refused };
  }

  it('garbage to every neighbour: the sender is excluded, the others sum exactly', async () => {
    const { res, req, expected } = await run((from) => from === 'c0');
    expect(req.excluded).toEqual(['c0']);
    expect(res.included).toEqual(['c1', 'c2', 'c3', 'c4']);
    expect(res.sum).toEqual(expected);
  });

  it('garbage to one neighbour: the sender stays in the sum (its self-mask is still rebuilt)', async () => {
    const { res, req, expected } = await run((from, to) => from === 'c0' && to === 'c1');
    expect(req.excluded).toEqual([]);
    expect(res.included).toEqual(ids);
    expect(res.sum).toEqual(expected);
  });

  it('a complaint without its pair seed is refused; the honest sender stays, the rest sum exactly', async () => {
    const { res, req, expected, refused } = await run(() => false, { by: 'c1', of: 'c2' });
    // The liar's masked input is refused as malformed (BAD_MESSAGE): it counts as a dropout.
    expect(refused).toEqual(['c1: BAD_MESSAGE']);
    expect(req.excluded).toEqual([]);
    expect(res.included).toEqual(['c0', 'c2', 'c3', 'c4']);
    expect(res.dropped).toEqual(['c1']);
    expect(res.sum).toEqual(expected);
  });

  it('a complainer that leaves after masking does not fail the group: its seed came with the complaint', async () => {
    // c1 cannot open c0's shares and says so; c0 stays (t holders accepted its shares); c1 then
    // sends neither its confirmation nor its unmask shares.
    const { res, req, expected, refused } = await run(
      (from, to) => from === 'c0' && to === 'c1',
      undefined,
      ['c1'],
    );
    expect(refused).toEqual([]);
    expect(req.excluded).toEqual([]);
    expect(res.included).toEqual(ids);
    expect(res.sum).toEqual(expected);
  });

  it('for any pattern of garbage shares: the sum of the included inputs exactly, or a typed failure', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 25, maxLength: 25 }), async (bits) => {
        const garbled = (from: string, to: string) =>
          bits[ids.indexOf(from) * 5 + ids.indexOf(to)]!;
        try {
          const { res, expected } = await run(garbled);
          expect(res.sum).toEqual(expected);
          // nobody who sent good shares to t holders is left out
          for (const id of ids) {
            const bad = ids.filter((to) => to !== id && garbled(id, to)).length;
            if (bad === 0 && res.excluded.length === 0) expect(res.included).toContain(id);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(AggregationError);
          expect(['BELOW_THRESHOLD', 'RECONSTRUCTION_MISMATCH']).toContain(
            (e as AggregationError).code,
          );
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('the consistency check (Bonawitz et al. 2017, round 3)', () => {
  it('a server showing clients different survivor sets learns no share from either', async () => {
    const { server, clients } = setup();
    for (const c of clients) await server.receive(await c.advertise());
    const roster = server.closeAdvertise();
    for (const c of clients) await server.receive(await c.shareKeys(roster));
    const inboxes = server.closeShares();
    const x = new Uint32Array(params.dim).fill(9);
    for (const c of clients) await server.receive(await c.maskInput(inboxes.get(c.id), x));
    const honest = server.closeMasked();
    // The lie: to clients 0-1 it says client 4 dropped (asking for s_4), to the others that it
    // survived (asking for b_4). Each view is consistent on its own.
    const victim = clients[4]!.id;
    const lie = {
      ...honest,
      survivors: honest.survivors.filter((c) => c !== victim),
      dropped: [victim],
    };
    const toA = await Promise.all(clients.slice(0, 2).map((c) => c.confirm(lie)));
    const toB = await Promise.all(clients.slice(2).map((c) => c.confirm(honest)));
    // Whatever set of signatures it forwards, fewer than t (3) signed either view.
    const all = [...toA, ...toB].map((m) => ({ client: m.client, signature: m.signature }));
    expect(await code(clients[0]!.unmask(all))).toBe('PROTOCOL_VIOLATION');
    expect(await code(clients[2]!.unmask(all))).toBe('PROTOCOL_VIOLATION');
    const onlyA = toA.map((m) => ({ client: m.client, signature: m.signature }));
    expect(await code(clients[1]!.unmask(onlyA))).toBe('BELOW_THRESHOLD');
    const onlyB = toB.map((m) => ({ client: m.client, signature: m.signature }));
    // The B view has 3 signers, but client 4 signed it too: with t = 3, B reveals b_4 shares
    // while A, with 2 signers, reveals nothing — never both s_4 and b_4.
    const revealedB = await clients[3]!.unmask(onlyB);
    expect(revealedB.bShares.some((s) => s.of === victim)).toBe(true);
    expect(revealedB.sShares).toEqual([]);
  });

  it('a forged confirmation is refused by the server and by clients', async () => {
    const { server, clients } = setup();
    for (const c of clients) await server.receive(await c.advertise());
    const roster = server.closeAdvertise();
    for (const c of clients) await server.receive(await c.shareKeys(roster));
    const inboxes = server.closeShares();
    const x = new Uint32Array(params.dim).fill(1);
    for (const c of clients) await server.receive(await c.maskInput(inboxes.get(c.id), x));
    const req = server.closeMasked();
    const confirms = await Promise.all(clients.map((c) => c.confirm(req)));
    // Client 0's confirmation signed with client 1's certified key.
    const forged = {
      ...confirms[0]!,
      signature: signRound(identities[1]!, consistencyPayload(req)),
    };
    expect(await code(server.receive(forged))).toBe('BAD_SIGNATURE');
    const { signature: _s, ...unsigned } = confirms[0]!;
    expect(await code(server.receive(unsigned))).toBe('BAD_SIGNATURE');
    const fake = confirms.map((m, i) => ({
      client: m.client,
      signature: i === 0 ? forged.signature : m.signature,
    }));
    expect(await code(clients[2]!.unmask(fake))).toBe('PROTOCOL_VIOLATION');
    // Clients stop verifying once t signers checked out, so a forgery only matters before that:
    // t - 1 genuine confirmations and a forged one, in any order, never make t.
    const genuine = (i: number) => ({
      client: confirms[i]!.client,
      signature: confirms[i]!.signature,
    });
    const short = [genuine(2), genuine(3), fake[0]!];
    for (const order of [short, [...short].reverse(), [short[0]!, short[2]!, short[1]!]]) {
      expect(await code(clients[2]!.unmask(order))).toBe('PROTOCOL_VIOLATION');
    }
    // t genuine ones first: the client reveals, whatever follows.
    const enough = await clients[2]!.unmask([genuine(2), genuine(3), genuine(4), fake[0]!]);
    expect(enough.bShares.length).toBeGreaterThanOrEqual(params.threshold);
  });
});

describe('key certificates (identity.ts)', () => {
  it('a certificate for another bounty or chain, or by another wallet, is refused', async () => {
    const w = wallets[0]!;
    const sign = (m: string) => w.signMessage(m);
    const cases = {
      'another bounty': await createIdentity({ ...scope, bountyId: 2 }, w.address, sign),
      'another chain': await createIdentity({ ...scope, chainId: 1 }, w.address, sign),
      'another wallet': await createIdentity(scope, w.address, (m) => wallets[1]!.signMessage(m)),
    };
    const cache = new CertificateCache(scope, (m, sig) => verifyMessage(m, sig));
    for (const [what, id] of Object.entries(cases)) {
      expect([what, cache.check(w.address, id.certificate)]).toEqual([what, false]);
      // Used as a whole (keys correctly signed under the key it certifies), by server and peers.
      const { server, clients } = setup();
      const adv = await Promise.all(clients.map((c) => c.advertise()));
      const bad = resigned(adv[0]!, id);
      expect([what, await code(server.receive(bad))]).toEqual([what, 'BAD_SIGNATURE']);
      for (const m of adv.slice(1)) await server.receive(m);
      await server.receive(adv[0]!);
      const roster = server.closeAdvertise().map((m) => (m.client === w.address ? bad : m));
      expect([what, await code(clients[1]!.shareKeys(roster))]).toEqual([what, 'BAD_SIGNATURE']);
    }
    // The right one is good, and checked with one ecrecover however often it is seen.
    expect(cache.check(w.address, identities[0]!.certificate)).toBe(true);
    expect(cache.check(w.address, identities[0]!.certificate)).toBe(true);
    expect(cache.recovers).toBe(4);
    // Another address claiming the same certificate is refused.
    expect(cache.check(wallets[1]!.address, identities[0]!.certificate)).toBe(false);
  });
});
