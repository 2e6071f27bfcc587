// The payment-log part of the ChannelStore contract, run against every implementation like
// contract.ts: payments saved with their signed state (atomically, IDs unique per channel), the
// payments a staged state carries, and listing the log newest first.

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { PerunError } from '../../src/channels/errors.js';
import {
  InvalidRecordError,
  PaymentExistsError,
  StaleStateError,
  StoreError,
} from '../../src/channels/persistence/errors.js';
import type {
  ChannelStore,
  PaymentRecord,
  StagedState,
  StoredPayment,
  UpdatePayments,
} from '../../src/channels/store.js';
import type { StoreHarness } from './contract.js';
import {
  CAROL,
  channelId,
  ETH,
  extremeState,
  newChannel,
  sig,
  signed,
  stagedBy,
  UINT256_MAX,
} from './fixtures.js';

const pay = (id: string, amount: bigint, asset = 0): PaymentRecord => ({ id, asset, amount });
const by = (payer: number, ...payments: PaymentRecord[]): UpdatePayments => ({ payer, payments });
/** The log rows without their position and time, for comparing content. */
const rows = (log: StoredPayment[]) => log.map(({ seq: _seq, at: _at, ...rest }) => rest);
const ids = (log: StoredPayment[]) => log.map((p) => p.id);

export function paymentLogContract(name: string, harness: StoreHarness): void {
  describe(`ChannelStore payment log: ${name}`, () => {
    let store: ChannelStore;
    const ab = channelId('alice-bob');
    const ac = channelId('alice-carol');

    beforeEach(async () => {
      store = await harness.open();
      await store.createChannel(newChannel('alice-bob'));
      await store.createChannel(newChannel('alice-carol', { peer: CAROL }));
      await store.saveSignedState(ab, signed(ab, 0n, 0n));
      await store.saveSignedState(ac, signed(ac, 0n, 0n));
    });
    afterEach(async () => {
      await harness.dispose(store);
    });

    it('Alice pays Bob twice in one update: the signed state and both payments are stored together', async () => {
      const before = Date.now();
      await store.transaction(async (tx) => {
        await tx.saveSignedState(ab, signed(ab, 1n, 30n), by(0, pay('coffee-1', 10n), pay('coffee-2', 20n)));
        await tx.setPhase(ab, 'Acting');
      });
      expect((await store.getChannel(ab))?.current).toEqual(signed(ab, 1n, 30n));
      const log = await store.listPayments();
      const balances = [10n * ETH - 30n, 10n * ETH + 30n];
      expect(rows(log)).toEqual([
        { channelId: ab, version: 1n, payer: 0, id: 'coffee-2', asset: 0, amount: 20n, balances },
        { channelId: ab, version: 1n, payer: 0, id: 'coffee-1', asset: 0, amount: 10n, balances },
      ]);
      expect(log[0]!.seq).toBeGreaterThan(log[1]!.seq);
      expect(typeof log[0]!.seq).toBe('bigint');
      expect(log[1]!.at).toBeGreaterThanOrEqual(before);
      expect(log[0]!.at).toBeLessThanOrEqual(Date.now());
    });

    it('a signed state that skipped versions logs the payments of each at its own version and balances', async () => {
      const at = (version: bigint, payer: number, balances: bigint[], ...payments: PaymentRecord[]) => ({
        version,
        payer,
        payments,
        balances: [balances],
      });
      await store.saveSignedState(ab, signed(ab, 3n, 5n), [
        at(1n, 0, [10n * ETH - 7n, 10n * ETH + 7n], pay('a-1', 7n)),
        at(2n, 1, [10n * ETH - 5n, 10n * ETH + 5n], pay('b-1', 2n)),
      ]);
      expect(rows(await store.listPayments({ channelId: ab }))).toEqual([
        {
          channelId: ab,
          version: 2n,
          payer: 1,
          id: 'b-1',
          asset: 0,
          amount: 2n,
          balances: [10n * ETH - 5n, 10n * ETH + 5n],
        },
        {
          channelId: ab,
          version: 1n,
          payer: 0,
          id: 'a-1',
          asset: 0,
          amount: 7n,
          balances: [10n * ETH - 7n, 10n * ETH + 7n],
        },
      ]);
      // Beyond the signed version, at version 0, with a negative balance, or an ID twice: refused, nothing written.
      for (const bad of [
        [at(5n, 0, [1n, 1n], pay('c-1', 1n))],
        [at(0n, 0, [1n, 1n], pay('c-1', 1n))],
        [at(3n, 0, [-1n, 1n], pay('c-1', 1n))],
        [at(3n, 0, [1n, 1n], pay('c-1', 1n)), at(3n, 1, [1n, 1n], pay('c-1', 1n))],
      ]) {
        await expect(store.saveSignedState(ab, signed(ab, 4n, 1n), bad)).rejects.toBeInstanceOf(
          InvalidRecordError,
        );
      }
      await expect(
        store.saveSignedState(ab, signed(ab, 4n, 1n), [at(4n, 0, [1n, 1n], pay('a-1', 1n))]),
      ).rejects.toBeInstanceOf(PaymentExistsError);
      expect((await store.getChannel(ab))?.current?.state.version).toBe(3n);
      expect(await store.listPayments({ channelId: ab })).toHaveLength(2);
    });

    it('a payment of the second asset keeps that asset’s balances to the wei, the payer being Bob', async () => {
      const extreme = { state: extremeState(ab, 1n), sigs: [sig(0, ab, 1n), sig(1, ab, 1n)] };
      await store.saveSignedState(ab, extreme, by(1, pay('bob:1', UINT256_MAX, 1)));
      expect(rows(await store.listPayments())).toEqual([
        {
          channelId: ab,
          version: 1n,
          payer: 1,
          id: 'bob:1',
          asset: 1,
          amount: UINT256_MAX,
          balances: [123456789n * ETH + 1n, 2n ** 64n + 1n],
        },
      ]);
    });

    it('a transaction that logs payments and then fails leaves neither the state nor the payments', async () => {
      const boom = new Error('sending failed');
      await expect(
        store.transaction(async (tx) => {
          await tx.saveSignedState(ab, signed(ab, 1n), by(0, pay('p-1', 1n), pay('p-2', 2n)));
          expect(ids(await tx.listPayments())).toEqual(['p-2', 'p-1']); // seen inside
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect((await store.getChannel(ab))?.current).toEqual(signed(ab, 0n, 0n));
      expect(await store.listPayments()).toEqual([]);
      // The IDs were never logged, so the retry goes through.
      await store.saveSignedState(ab, signed(ab, 1n), by(0, pay('p-1', 1n), pay('p-2', 2n)));
      expect(ids(await store.listPayments())).toEqual(['p-2', 'p-1']);
    });

    it('a payment ID already in the channel’s log is refused and nothing of that write is stored', async () => {
      await store.saveSignedState(ab, signed(ab, 1n), by(0, pay('p-1', 1n)));
      const err = await store
        .saveSignedState(ab, signed(ab, 2n), by(0, pay('p-2', 2n), pay('p-1', 3n)))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PaymentExistsError);
      expect(err).toBeInstanceOf(StoreError);
      expect(err).toBeInstanceOf(PerunError);
      expect((err as PaymentExistsError).code).toBe('PAYMENT_EXISTS');
      expect((err as PaymentExistsError).details).toEqual({ channelId: ab, paymentId: 'p-1' });
      expect((await store.getChannel(ab))?.current).toEqual(signed(ab, 1n));
      expect(ids(await store.listPayments())).toEqual(['p-1']);

      // Caught inside a transaction, the refused write still left nothing; the rest commits.
      await store.transaction(async (tx) => {
        await expect(
          tx.saveSignedState(ab, signed(ab, 2n), by(0, pay('p-2', 2n), pay('p-1', 3n))),
        ).rejects.toBeInstanceOf(PaymentExistsError);
        await tx.setPhase(ab, 'Acting');
      });
      const r = await store.getChannel(ab);
      expect([r?.phase, r?.current]).toEqual(['Acting', signed(ab, 1n)]);
      expect(ids(await store.listPayments())).toEqual(['p-1']);

      // IDs are unique per channel, and case matters.
      await store.saveSignedState(ac, signed(ac, 1n), by(0, pay('p-1', 1n)));
      await store.saveSignedState(ab, signed(ab, 2n), by(0, pay('P-1', 1n)));
      expect(rows(await store.listPayments()).map((p) => [p.channelId, p.id])).toEqual([
        [ab, 'P-1'],
        [ac, 'p-1'],
        [ab, 'p-1'],
      ]);
    });

    it('concurrent writers logging the same payment ID on one channel: exactly one logs it', async () => {
      const versions = [4n, 2n, 6n, 1n, 5n, 3n];
      const results = await Promise.allSettled(
        versions.map((v) => store.saveSignedState(ab, signed(ab, v), by(0, pay('once', v)))),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected')
          expect([PaymentExistsError, StaleStateError]).toContain(r.reason.constructor);
      }
      const log = await store.listPayments();
      expect(ids(log)).toEqual(['once']);
      expect((await store.getChannel(ab))?.current?.state.version).toBe(log[0]!.version);
    });

    it('a signed state saved without payments, or with an empty list, logs nothing', async () => {
      await store.saveSignedState(ab, signed(ab, 1n));
      await store.saveSignedState(ab, signed(ab, 2n), by(0));
      expect((await store.getChannel(ab))?.current).toEqual(signed(ab, 2n));
      expect(await store.listPayments()).toEqual([]);
    });

    it('a staged state keeps its update’s payments for a restart; the next staged state replaces them', async () => {
      const proposal: StagedState = {
        ...stagedBy([0], ab, 1n),
        payments: by(0, pay('tea', 5n), pay('cake', UINT256_MAX)),
      };
      await store.transaction(async (tx) => {
        await tx.saveStagedState(ab, proposal);
        await tx.setPhase(ab, 'Signing');
      });
      expect((await store.getChannel(ab))?.staged).toEqual(proposal);
      expect((await store.listChannels()).find((c) => c.id === ab)?.staged).toEqual(proposal);
      // Bob's signature arrives: the staged state is replaced by one without payments.
      await store.saveStagedState(ab, stagedBy([0, 1], ab, 1n));
      const staged = (await store.getChannel(ab))?.staged;
      expect(staged).toEqual(stagedBy([0, 1], ab, 1n));
      expect(staged && 'payments' in staged).toBe(false);
      // Bob proposes on the other channel: he is the payer there.
      const fromBob: StagedState = { ...stagedBy([1], ac, 1n), payments: by(1, pay('refund-7', 7n)) };
      await store.saveStagedState(ac, fromBob);
      expect((await store.getChannel(ac))?.staged).toEqual(fromBob);
      // Staged payments are not logged: only a signed state logs payments.
      expect(await store.listPayments()).toEqual([]);
    });

    it('listPayments: newest first, one channel or all, a page at a time', async () => {
      const logged: string[] = [];
      for (let v = 1n; v <= 4n; v++) {
        for (const id of [ab, ac]) {
          const batch = [pay(`${v}-a`, v), ...(v % 2n === 0n ? [pay(`${v}-b`, v)] : [])];
          await store.saveSignedState(id, signed(id, v), by(0, ...batch));
          logged.push(...batch.map((p) => `${id === ab ? 'ab' : 'ac'}:${p.id}`));
        }
      }
      const all = await store.listPayments();
      expect(all.map((p) => `${p.channelId === ab ? 'ab' : 'ac'}:${p.id}`)).toEqual([...logged].reverse());
      expect(all.every((p, i) => i === 0 || p.seq < all[i - 1]!.seq)).toBe(true);
      const onlyAc = await store.listPayments({ channelId: ac });
      expect(onlyAc).toEqual(all.filter((p) => p.channelId === ac));
      expect(await store.listPayments({ limit: 3 })).toEqual(all.slice(0, 3));
      expect(await store.listPayments({ beforeSeq: all[4]!.seq })).toEqual(all.slice(5));
      // Paging through one channel, three at a time.
      const pages: StoredPayment[] = [];
      for (let page = await store.listPayments({ channelId: ab, limit: 3 }); page.length > 0;) {
        expect(page.length).toBeLessThanOrEqual(3);
        pages.push(...page);
        page = await store.listPayments({ channelId: ab, limit: 3, beforeSeq: page.at(-1)!.seq });
      }
      expect(pages).toEqual(all.filter((p) => p.channelId === ab));
      expect(await store.listPayments({ channelId: channelId('ghost') })).toEqual([]);
      expect(await store.listPayments({ beforeSeq: all.at(-1)!.seq })).toEqual([]);
      expect(await store.transaction((tx) => tx.listPayments({ limit: 1 }))).toEqual(all.slice(0, 1));
    });

    it('payment records are copies: mutating what went in or came out does not change the store', async () => {
      const batch = by(0, pay('x', 7n));
      await store.saveSignedState(ab, signed(ab, 1n), batch);
      const proposal: StagedState = { ...stagedBy([0], ab, 2n), payments: by(0, pay('y', 8n)) };
      await store.saveStagedState(ab, proposal);
      batch.payments[0]!.amount = 0n;
      batch.payments.push(pay('z', 1n));
      proposal.payments!.payments[0]!.id = 'mallory';
      const [logged] = await store.listPayments();
      logged!.balances[0] = 0n;
      logged!.amount = 1n;
      const record = await store.getChannel(ab);
      record!.staged!.payments!.payments.pop();
      expect(rows(await store.listPayments())).toEqual([
        {
          channelId: ab,
          version: 1n,
          payer: 0,
          id: 'x',
          asset: 0,
          amount: 7n,
          balances: signed(ab, 1n).state.outcome.balances[0],
        },
      ]);
      expect((await store.getChannel(ab))?.staged?.payments).toEqual(by(0, pay('y', 8n)));
    });

    it('malformed payments and filters are refused with InvalidRecordError and nothing is stored', async () => {
      const badBatches: [string, unknown][] = [
        ['an empty ID', by(0, pay('', 1n))],
        ['an ID of 65 characters', by(0, pay('a'.repeat(65), 1n))],
        ['a space in an ID', by(0, pay('coffee 1', 1n))],
        ['a slash in an ID', by(0, pay('a/b', 1n))],
        ['a non-ASCII ID', by(0, pay('café', 1n))],
        ['a number as ID', by(0, { id: 7, asset: 0, amount: 1n } as never)],
        ['the same ID twice in one update', by(0, pay('twice', 1n), pay('twice', 2n))],
        ['a payer who is not a participant', by(2, pay('p', 1n))],
        ['a negative payer', by(-1, pay('p', 1n))],
        ['an asset the state does not hold', by(0, pay('p', 1n, 1))],
        ['a fractional asset index', by(0, { id: 'p', asset: 0.5, amount: 1n })],
        ['a negative amount', by(0, pay('p', -1n))],
        ['a number as amount', by(0, { id: 'p', asset: 0, amount: 1 as never })],
        ['payments that are not a list', { payer: 0, payments: 'p' }],
        ['no payments object', null],
      ];
      for (const [what, batch] of badBatches) {
        for (const write of [
          () => store.saveSignedState(ab, signed(ab, 1n), batch as UpdatePayments),
          () => store.saveStagedState(ab, { ...stagedBy([0], ab, 1n), payments: batch as UpdatePayments }),
        ]) {
          const err = await write().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect([what, err instanceof InvalidRecordError]).toEqual([what, true]);
        }
      }
      const r = await store.getChannel(ab);
      expect([r?.current, r?.staged]).toEqual([signed(ab, 0n, 0n), null]);
      expect(await store.listPayments()).toEqual([]);
      // The longest ID and every allowed character are fine.
      const longest = 'A-z.0:9_' + 'x'.repeat(56);
      await store.saveSignedState(ab, signed(ab, 1n), by(0, pay(longest, 0n)));
      expect(ids(await store.listPayments())).toEqual([longest]);

      for (const filter of [
        { limit: 0 },
        { limit: 1.5 },
        { limit: -1 },
        { beforeSeq: 3 as never },
        { channelId: '' },
      ]) {
        await expect(store.listPayments(filter)).rejects.toBeInstanceOf(InvalidRecordError);
      }
    });

    it('deleting a channel keeps its payment log (the history outlives the record)', async () => {
      await store.saveSignedState(ab, signed(ab, 1n), by(0, pay('kept', 1n)));
      expect(await store.deleteChannel(ab)).toBe(true);
      expect(ids(await store.listPayments({ channelId: ab }))).toEqual(['kept']);
    });
  });
}
