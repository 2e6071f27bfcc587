// The watcher cursors of a client on several chains, kept in its ChannelStore: one per chain
// (getChainCursor/setChainCursor), handed to MultiLedgerWatcher as its `cursors` option. The
// primary chain (the one a single-chain agent watched with the store's global cursor) takes over
// that cursor: it resumes from it while it has none of its own, and every write keeps the global
// cursor in step, so an agent moving between one chain and several resumes where it stopped.
import type { ChannelStore } from '../store.js';
import type { WatcherCursorStore } from '../watcher.js';

type CursorStore = Pick<ChannelStore, 'getCursor' | 'setCursor' | 'getChainCursor' | 'setChainCursor'>;

export function storedChainCursors(
  store: CursorStore,
  primary: bigint,
): (chainID: bigint) => WatcherCursorStore {
  return (chainID) =>
    chainID === primary
      ? {
          getCursor: async () => (await store.getChainCursor(chainID)) ?? (await store.getCursor()),
          setCursor: async (block) => {
            await store.setChainCursor(block, chainID);
            await store.setCursor(block);
          },
        }
      : {
          getCursor: () => store.getChainCursor(chainID),
          setCursor: (block) => store.setChainCursor(block, chainID),
        };
}
