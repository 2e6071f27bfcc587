// The guard against calling the store from inside its own transaction sees a caller's transaction
// function only while it runs: a call from inside one is refused in every transaction, and once
// none runs the store's context is off (so promises made elsewhere are not hooked): a call that a
// finished transaction left behind, and calls from outside while one runs, go through.
import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import { StoreUsageError } from '../../src/channels/persistence/errors.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import type { ChannelStore } from '../../src/channels/store.js';
import { channelId, newChannel } from './fixtures.js';

const ab = channelId('alice-bob');

/** A promise and its resolver, to hold a transaction function open until the test lets it end. */
function gate(): { open: () => void; wait: Promise<void> } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { open, wait };
}

const stores: Array<[string, () => Promise<ChannelStore>]> = [
  ['in memory', async () => new MemoryChannelStore()],
  ['TypeORM on SQLite :memory:', () => TypeOrmChannelStore.open(':memory:')],
];

describe.each(stores)('the transaction guard (%s)', (_name, open) => {
  let store: ChannelStore;
  beforeEach(async () => {
    store = await open();
    await store.createChannel(newChannel('alice-bob'));
  });
  afterEach(() => store.close());

  it('refuses a call from inside each transaction, also after an earlier one ended', async () => {
    const inner = () =>
      store.getChannel(ab).then(
        () => 'allowed',
        (err: unknown) => (err instanceof StoreUsageError ? 'refused' : 'other error'),
      );
    for (let i = 0; i < 3; i++) {
      const got = await store.transaction(async (tx) => {
        await tx.getChannel(ab);
        return inner();
      });
      expect(got).toBe('refused');
      expect((await store.getChannel(ab))?.id).toBe(ab);
    }
  });

  it('lets a continuation of a finished transaction use the store', async () => {
    let later: Promise<unknown> | undefined;
    const go = gate();
    await store.transaction(async (tx) => {
      later = go.wait.then(() => store.getChannel(ab));
      await tx.getChannel(ab);
    });
    go.open();
    expect(((await later) as { id: string } | null)?.id).toBe(ab);
  });

  it('serves calls from outside while a transaction function runs', async () => {
    const held = gate();
    const ran = gate();
    const tx = store.transaction(async (t) => {
      ran.open();
      await held.wait;
      return t.getChannel(ab);
    });
    await ran.wait;
    const outside = store.getChannel(ab);
    held.open();
    expect((await tx)?.id).toBe(ab);
    expect((await outside)?.id).toBe(ab);
  });
});
