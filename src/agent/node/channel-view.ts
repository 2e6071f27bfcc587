// A channel as users see it (ChannelView, ./types.ts) from the facts of it that both the running
// node (./views.ts, from the channel client) and the starting view (./stored-channels.ts, from the
// store's rows) hold. Pure and light: the starting view loads it before Credo, TypeORM or ethers.
import type { Phase } from '../../channels/types.js';
import { PHASE_WORDS } from './phase-words.js';
import type { ChannelAssetView, ChannelView } from './types.js';

/** What a view of a channel is made of, amounts in the smallest unit of its (first) asset. */
export interface ChannelFacts {
  id: string;
  /** The peer's wire identity (its DID). */
  peer: string;
  idx: number;
  phase: Phase;
  /** Of the latest fully signed state (0 before there is one), and what it holds of the first asset: */
  version: bigint;
  /** each participant's balance, */
  balances: readonly bigint[];
  /** each sub-allocation's share. */
  locked: readonly (bigint | undefined)[];
  isFinal: boolean;
  challengeDuration: bigint;
  participants: readonly string[];
  virtual: boolean;
  parent?: string;
  queuedPayments: number;
  synced: boolean;
}

/** The channel's first asset: its symbol, its chain where views name it, and its units. */
export interface ViewedAsset {
  symbol: string;
  chainId?: string;
  format(amount: bigint): string;
}

export function channelView(
  c: ChannelFacts,
  peer: { connectionId: string | undefined; label: string | undefined },
  asset: ViewedAsset,
  more: { assets?: ChannelAssetView[]; challengeEndsAt?: string } = {},
): ChannelView {
  return {
    id: c.id,
    connectionId: peer.connectionId,
    peerDid: c.peer,
    peerLabel: peer.label,
    idx: c.idx,
    phase: c.phase,
    status: PHASE_WORDS[c.phase],
    version: c.version.toString(),
    asset: asset.symbol,
    ...(asset.chainId === undefined ? {} : { chainId: asset.chainId }),
    ourBalance: asset.format(c.balances[c.idx] ?? 0n),
    theirBalance: asset.format(c.balances[1 - c.idx] ?? 0n),
    ...(more.assets === undefined ? {} : { assets: more.assets }),
    challengeDuration: Number(c.challengeDuration),
    participants: [...c.participants],
    isFinal: c.isFinal,
    ...(c.parent === undefined ? {} : { parentId: c.parent }),
    virtual: c.virtual,
    locked: asset.format(c.locked.reduce<bigint>((sum, l) => sum + (l ?? 0n), 0n)),
    queuedPayments: c.queuedPayments,
    synced: c.synced,
    ...(more.challengeEndsAt === undefined ? {} : { challengeEndsAt: more.challengeEndsAt }),
  };
}
