// The ChannelStore contract as one suite of scenarios, run against every implementation (memory,
// SQLite through TypeORM, and PostgreSQL when DATABASE_URL names one). An implementation that
// passes it can back the channel core.

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { PerunError } from '../../src/channels/errors.js';
import {
  ChannelExistsError,
  ChannelNotStoredError,
  InvalidRecordError,
  StaleStateError,
  StoreUsageError,
} from '../../src/channels/persistence/errors.js';
import type { ChannelRecord, ChannelStore } from '../../src/channels/store.js';
import {
  ALICE,
  BOB,
  CAROL,
  channelId,
  extremeState,
  newChannel,
  sig,
  signed,
  stagedBy,
  state,
  UINT256_MAX,
} from './fixtures.js';

export interface StoreHarness {
  /** A fresh, empty store. */
  open(): Promise<ChannelStore>;
  /** Closes the store and frees what open() created. */
  dispose(store: ChannelStore): Promise<void>;
}

/** Strips updatedAt so records can be compared across writes. */
function content(r: ChannelRecord | null) {
  if (r === null) return null;
  const { updatedAt: _updatedAt, ...rest } = r;
  return rest;
}

export function channelStoreContract(name: string, harness: StoreHarness): void {
  describe(`ChannelStore contract: ${name}`, () => {
    let store: ChannelStore;
    const ab = channelId('alice-bob');

    beforeEach(async () => {
      store = await harness.open();
    });
    afterEach(async () => {
      await harness.dispose(store);
    });

    it('Alice stores a new channel with Bob and reads it back exactly', async () => {
      const before = Date.now();
      await store.createChannel(newChannel('alice-bob'));
      const record = await store.getChannel(ab);
      expect(content(record)).toEqual({
        ...newChannel('alice-bob'),
        current: null,
        staged: null,
        usedVersion: null,
        usedState: null,
      });
      expect(record?.updatedAt).toBeGreaterThanOrEqual(before);
      expect(record?.params.nonce).toBe(UINT256_MAX - 7n);
    });

    it('a channel ID can be stored only once', async () => {
      await store.createChannel(newChannel('alice-bob'));
      const err = await store.createChannel(newChannel('alice-bob')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChannelExistsError);
      expect(err).toBeInstanceOf(PerunError);
      expect((err as ChannelExistsError).code).toBe('CHANNEL_EXISTS');
    });

    it('writes for an unknown channel are refused; reads find nothing', async () => {
      const ghost = channelId('ghost');
      await expect(store.setPhase(ghost, 'Acting')).rejects.toBeInstanceOf(ChannelNotStoredError);
      await expect(store.saveSignedState(ghost, signed(ghost, 1n))).rejects.toBeInstanceOf(
        ChannelNotStoredError,
      );
      await expect(store.saveStagedState(ghost, stagedBy([0], ghost, 1n))).rejects.toBeInstanceOf(
        ChannelNotStoredError,
      );
      await expect(store.setCursor(5n, ghost)).rejects.toBeInstanceOf(ChannelNotStoredError);
      expect(await store.getChannel(ghost)).toBeNull();
      expect(await store.getCursor(ghost)).toBeNull();
      expect(await store.deleteChannel(ghost)).toBe(false);
      expect(await store.listChannels()).toEqual([]);
    });

    it('opening: the initial state is staged, both sign, it becomes current and the channel is funded', async () => {
      await store.createChannel(newChannel('alice-bob'));
      // Alice signs version 0 and persists it before her signature leaves.
      await store.transaction(async (tx) => {
        await tx.saveStagedState(ab, stagedBy([0], ab, 0n, 0n));
        await tx.setPhase(ab, 'InitSigning');
      });
      let r = await store.getChannel(ab);
      expect(r?.phase).toBe('InitSigning');
      expect(r?.staged).toEqual(stagedBy([0], ab, 0n, 0n));
      expect(r?.current).toBeNull();
      // Bob's signature arrives: the state is complete and enabled, staging cleared, in one commit.
      await store.transaction(async (tx) => {
        await tx.saveSignedState(ab, signed(ab, 0n, 0n));
        await tx.saveStagedState(ab, null);
        await tx.setPhase(ab, 'Funding');
      });
      await store.setPhase(ab, 'Acting');
      r = await store.getChannel(ab);
      expect(r?.phase).toBe('Acting');
      expect(r?.current).toEqual(signed(ab, 0n, 0n));
      expect(r?.staged).toBeNull();
    });

    it('a payment goes staged (one signature) -> staged (both) -> current, keeping every signature', async () => {
      await store.createChannel(newChannel('alice-bob'));
      await store.saveSignedState(ab, signed(ab, 0n, 0n));
      for (let v = 1n; v <= 5n; v++) {
        await store.transaction(async (tx) => {
          await tx.saveStagedState(ab, stagedBy([0], ab, v));
          await tx.setPhase(ab, 'Signing');
        });
        expect((await store.getChannel(ab))?.staged?.sigs).toEqual([sig(0, ab, v), null]);
        await store.saveStagedState(ab, stagedBy([0, 1], ab, v));
        await store.transaction(async (tx) => {
          const r = await tx.getChannel(ab);
          const staged = r?.staged;
          if (!staged || staged.sigs.some((s) => s === null)) throw new Error('not fully signed');
          await tx.saveSignedState(ab, { state: staged.state, sigs: staged.sigs as string[] });
          await tx.setPhase(ab, 'Acting');
        });
      }
      const r = await store.getChannel(ab);
      expect(r?.current).toEqual(signed(ab, 5n));
      expect(r?.current?.state.outcome.balances[0]).toEqual([
        10n * 10n ** 18n - 5_000_000_035n,
        10n * 10n ** 18n + 5_000_000_035n,
      ]);
      expect(r?.staged).toBeNull(); // enabled version 5 superseded the staged version 5
      expect(r?.phase).toBe('Acting');
    });

    it('bigints survive to the wei: uint256 max, 2^64+1, 2^53+1, sub-allocations, long app data', async () => {
      await store.createChannel({ ...newChannel('alice-bob'), parentId: channelId('parent') });
      const extreme = { state: extremeState(ab, UINT256_MAX), sigs: [sig(0, ab, 1n), sig(1, ab, 1n)] };
      await store.saveSignedState(ab, extreme);
      const r = await store.getChannel(ab);
      expect(r?.current).toEqual(extreme);
      expect(r?.current?.state.outcome.balances[1]?.[1]).toBe(2n ** 64n + 1n);
      expect(r?.current?.state.outcome.locked[0]?.balances[1]).toBe(9007199254740993n);
      expect(r?.parentId).toBe(channelId('parent'));
    });

    it('versions only increase: an older signed state is refused with StaleStateError and changes nothing', async () => {
      await store.createChannel(newChannel('alice-bob'));
      await store.saveSignedState(ab, signed(ab, 5n));
      const before = await store.getChannel(ab);
      const err = await store.saveSignedState(ab, signed(ab, 3n)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StaleStateError);
      expect(err).toBeInstanceOf(PerunError);
      expect((err as StaleStateError).code).toBe('STALE_STATE');
      expect((err as StaleStateError).details).toEqual({
        channelId: ab,
        storedVersion: '5',
        givenVersion: '3',
      });
      expect(await store.getChannel(ab)).toEqual(before);
    });

    it('the same version is accepted again only with the same content', async () => {
      await store.createChannel(newChannel('alice-bob'));
      await store.saveSignedState(ab, signed(ab, 5n));
      await store.saveSignedState(ab, signed(ab, 5n)); // idempotent re-save (e.g. after sync)
      await expect(store.saveSignedState(ab, signed(ab, 5n, 1n))).rejects.toBeInstanceOf(StaleStateError);
      expect((await store.getChannel(ab))?.current).toEqual(signed(ab, 5n));
    });

    it('a staged state must be newer than the signed one; a signed state drops the staged states it supersedes', async () => {
      await store.createChannel(newChannel('alice-bob'));
      await store.saveSignedState(ab, signed(ab, 4n));
      await expect(store.saveStagedState(ab, stagedBy([0], ab, 4n))).rejects.toBeInstanceOf(StaleStateError);
      await store.saveStagedState(ab, stagedBy([0], ab, 6n));
      await store.saveSignedState(ab, signed(ab, 5n)); // older than the staged one: staged kept
      expect((await store.getChannel(ab))?.staged).toEqual(stagedBy([0], ab, 6n));
      await store.saveSignedState(ab, signed(ab, 7n)); // sync brought a newer state: staged dropped
      const r = await store.getChannel(ab);
      expect(r?.staged).toBeNull();
      expect(r?.current?.state.version).toBe(7n);
    });

    it('a used-up version only rises: Alice drops her rejected update of version 6 and it stays used', async () => {
      await store.createChannel(newChannel('alice-bob'));
      await store.saveSignedState(ab, signed(ab, 5n));
      await store.saveStagedState(ab, stagedBy([0], ab, 6n));
      // Bob rejects: the staged state goes, its version stays used, in one commit.
      await store.transaction(async (tx) => {
        await tx.saveStagedState(ab, null);
        await tx.setUsedVersion(ab, 6n);
      });
      await store.setUsedVersion(ab, 3n); // lower: the stored one stays
      const r = await store.getChannel(ab);
      expect(r?.usedVersion).toBe(6n);
      expect(r?.staged).toBeNull();
      expect(r?.current).toEqual(signed(ab, 5n));
      await store.setUsedVersion(ab, 2n ** 64n - 1n);
      expect((await store.getChannel(ab))?.usedVersion).toBe(2n ** 64n - 1n);
      await expect(store.setUsedVersion(ab, -1n)).rejects.toBeInstanceOf(InvalidRecordError);
      await expect(store.setUsedVersion(channelId('ghost'), 1n)).rejects.toBeInstanceOf(
        ChannelNotStoredError,
      );
    });

    it('the used-up version keeps Alice’s signed state at it, until a higher version replaces both', async () => {
      await store.createChannel(newChannel('alice-bob'));
      await store.saveSignedState(ab, signed(ab, 5n));
      const dropped = stagedBy([0], ab, 6n);
      const own = { state: dropped.state, sig: dropped.sigs[0]! };
      await store.setUsedVersion(ab, 6n, own);
      expect((await store.getChannel(ab))?.usedState).toEqual(own);
      await store.setUsedVersion(ab, 4n); // lower: version and state stay
      await store.setUsedVersion(ab, 6n); // the same version without a state keeps the state
      expect((await store.getChannel(ab))?.usedState).toEqual(own);
      await store.setUsedVersion(ab, 7n); // higher without a state: the old state is no longer it
      const r = await store.getChannel(ab);
      expect(r?.usedVersion).toBe(7n);
      expect(r?.usedState).toBeNull();
      await expect(store.setUsedVersion(ab, 8n, own)).rejects.toBeInstanceOf(InvalidRecordError);
      const other = stagedBy([0], channelId('alice-carol'), 8n);
      await expect(
        store.setUsedVersion(ab, 8n, { state: other.state, sig: other.sigs[0]! }),
      ).rejects.toBeInstanceOf(InvalidRecordError);
      expect((await store.getChannel(ab))?.usedVersion).toBe(7n);
    });

    it('a transaction is all or nothing: a failure inside leaves no trace', async () => {
      await store.createChannel(newChannel('alice-bob'));
      await store.saveSignedState(ab, signed(ab, 1n));
      const before = await store.getChannel(ab);
      const boom = new Error('signing failed');
      await expect(
        store.transaction(async (tx) => {
          await tx.saveStagedState(ab, stagedBy([0], ab, 2n));
          await tx.setPhase(ab, 'Signing');
          await tx.setCursor(99n);
          await tx.createChannel(newChannel('alice-carol', { peer: CAROL }));
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await store.getChannel(ab)).toEqual(before);
      expect(await store.getCursor()).toBeNull();
      expect(await store.getChannel(channelId('alice-carol'))).toBeNull();
      // A refused write inside a transaction also rolls back what came before it.
      await expect(
        store.transaction(async (tx) => {
          await tx.setPhase(ab, 'Signing');
          await tx.saveSignedState(ab, signed(ab, 0n));
        }),
      ).rejects.toBeInstanceOf(StaleStateError);
      expect(await store.getChannel(ab)).toEqual(before);
      // And a successful one returns fn's value.
      expect(await store.transaction(async (tx) => (await tx.getChannel(ab))?.phase)).toBe('InitActing');
    });

    it('concurrent writers on one channel: the newest version wins, every older one is refused or superseded', async () => {
      await store.createChannel(newChannel('alice-bob'));
      const versions = [7n, 3n, 12n, 1n, 20n, 9n, 15n, 2n, 18n, 5n];
      const results = await Promise.allSettled(versions.map((v) => store.saveSignedState(ab, signed(ab, v))));
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StaleStateError);
      }
      expect(results[4]?.status).toBe('fulfilled'); // version 20 can never be stale
      expect((await store.getChannel(ab))?.current).toEqual(signed(ab, 20n));
    });

    it('calling the store from inside its own transaction is a usage error, not a deadlock', async () => {
      await store.createChannel(newChannel('alice-bob'));
      await expect(store.transaction(() => store.getChannel(ab))).rejects.toBeInstanceOf(StoreUsageError);
      expect((await store.getChannel(ab))?.id).toBe(ab); // still usable
    });

    it('records are copies: mutating what went in or came out does not change the store', async () => {
      const ch = newChannel('alice-bob');
      await store.createChannel(ch);
      const s = signed(ab, 1n);
      await store.saveSignedState(ab, s);
      ch.peers[1] = 'did:peer:mallory';
      s.state.outcome.balances[0]![0] = 0n;
      s.sigs[1] = '0x00';
      const r = await store.getChannel(ab);
      r!.params.participants.pop();
      r!.current!.state.version = 99n;
      expect(content(await store.getChannel(ab))).toEqual({
        ...newChannel('alice-bob'),
        current: signed(ab, 1n),
        staged: null,
        usedVersion: null,
        usedState: null,
      });
    });

    it('malformed records are refused with InvalidRecordError and nothing is stored', async () => {
      await store.createChannel(newChannel('alice-bob'));
      const bad: [string, () => Promise<unknown>][] = [
        [
          'one signature missing',
          () => store.saveSignedState(ab, { state: state(ab, 1n), sigs: [sig(0, ab, 1n)] }),
        ],
        [
          'a null signature in a signed state',
          () => store.saveSignedState(ab, { ...stagedBy([0], ab, 1n) } as never),
        ],
        [
          'a non-hex signature',
          () => store.saveSignedState(ab, { state: state(ab, 1n), sigs: ['0xzz', sig(1, ab, 1n)] }),
        ],
        ['a state of another channel', () => store.saveSignedState(ab, signed(channelId('other'), 1n))],
        [
          'a number where a bigint belongs',
          () =>
            store.saveSignedState(ab, {
              ...signed(ab, 1n),
              state: { ...state(ab, 1n), version: 1 as never },
            }),
        ],
        [
          'staged sigs of the wrong length',
          () => store.saveStagedState(ab, { state: state(ab, 1n), sigs: [null] }),
        ],
        ['ourIndex out of range', () => store.createChannel({ ...newChannel('x'), ourIndex: 2 })],
        [
          'peers not one per participant',
          () => store.createChannel({ ...newChannel('y'), peers: [ALICE.did] }),
        ],
        ['an empty phase', () => store.setPhase(ab, '')],
        ['a negative block', () => store.setCursor(-1n)],
      ];
      for (const [what, write] of bad) {
        const err = await write().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect([what, err instanceof InvalidRecordError]).toEqual([what, true]);
      }
      expect(content(await store.getChannel(ab))).toEqual({
        ...newChannel('alice-bob'),
        current: null,
        staged: null,
        usedVersion: null,
        usedState: null,
      });
      expect((await store.listChannels()).map((c) => c.id)).toEqual([ab]);
    });

    it('listChannels returns every channel for restore on start, or only those shared with one peer', async () => {
      await store.createChannel(newChannel('alice-bob'));
      await store.createChannel(newChannel('alice-carol', { peer: CAROL }));
      await store.createChannel(newChannel('alice-bob-2', { nonce: 2n }));
      await store.saveSignedState(ab, signed(ab, 3n));
      await store.setPhase(channelId('alice-carol'), 'Registered');
      const all = await store.listChannels();
      expect(all.map((c) => c.id)).toEqual([ab, channelId('alice-bob-2'), channelId('alice-carol')].sort());
      expect(all.find((c) => c.id === ab)?.current).toEqual(signed(ab, 3n));
      expect(all.find((c) => c.id === channelId('alice-carol'))?.phase).toBe('Registered');
      expect((await store.listChannels({ peer: BOB.did })).map((c) => c.id)).toEqual(
        [ab, channelId('alice-bob-2')].sort(),
      );
      expect((await store.listChannels({ peer: CAROL.did })).map((c) => c.id)).toEqual([
        channelId('alice-carol'),
      ]);
      expect(await store.listChannels({ peer: 'did:peer:nobody' })).toEqual([]);
      expect((await store.listChannels({ peer: ALICE.did })).length).toBe(3);
    });

    it('watcher cursors: one global and one per channel, independent, exact beyond 2^53', async () => {
      await store.createChannel(newChannel('alice-bob'));
      expect(await store.getCursor()).toBeNull();
      expect(await store.getCursor(ab)).toBeNull();
      await store.setCursor(100n);
      await store.setCursor(2n ** 60n + 3n, ab);
      expect(await store.getCursor()).toBe(100n);
      expect(await store.getCursor(ab)).toBe(2n ** 60n + 3n);
      await store.setCursor(101n);
      expect(await store.getCursor()).toBe(101n);
      expect(await store.getCursor(ab)).toBe(2n ** 60n + 3n);
    });

    it('closing a channel removes its record, states and cursor, and nothing else', async () => {
      await store.createChannel(newChannel('alice-bob'));
      await store.createChannel(newChannel('alice-carol', { peer: CAROL }));
      await store.saveSignedState(ab, signed(ab, 3n));
      await store.saveStagedState(ab, stagedBy([0], ab, 4n));
      await store.setCursor(77n, ab);
      await store.setCursor(78n);
      expect(await store.deleteChannel(ab)).toBe(true);
      expect(await store.getChannel(ab)).toBeNull();
      expect(await store.getCursor(ab)).toBeNull();
      expect(await store.getCursor()).toBe(78n);
      expect((await store.listChannels()).map((c) => c.id)).toEqual([channelId('alice-carol')]);
      expect(await store.listChannels({ peer: BOB.did })).toEqual([]);
      // The ID is free again and starts clean.
      await store.createChannel(newChannel('alice-bob'));
      expect(content(await store.getChannel(ab))).toEqual({
        ...newChannel('alice-bob'),
        current: null,
        staged: null,
        usedVersion: null,
        usedState: null,
      });
    });

    it('a closed store refuses further use', async () => {
      await store.close();
      await expect(store.getChannel(ab)).rejects.toBeInstanceOf(StoreUsageError);
    });
  });
}
