// The views users get (./types.ts) of what Credo and the channel client hold: connections,
// credentials, messages, proposals, and channels with their payments and settlements.
import type { W3cJsonLdVerifiableCredential } from '@credo-ts/core';
import {
  DidCommBasicMessageRole,
  type DidCommBasicMessageRecord,
  type DidCommConnectionRecord,
} from '@credo-ts/didcomm';
import type { ChannelInfo, IncomingProposal } from '../../channels/client.js';
import type { StoredPayment } from '../../channels/store.js';
import type { PaymentRecord, State } from '../../channels/types.js';
import type { VerifiedPeer } from '../../protocols/identity/index.js';
import { formatAmount } from '../api/amounts.js';
import { format, type AssetInfo, type Assets } from './assets.js';
import { channelView } from './channel-view.js';
import { PHASE_WORDS } from './phase-words.js';
import { coinDecimals } from './ledger.js';
import type {
  ChannelAssetView,
  ChannelView,
  ConnectionView,
  CredentialView,
  MessageView,
  PaymentView,
  ProposalView,
  SettlementView,
} from './types.js';

export { PHASE_WORDS };

const iso = (d: Date | string) => (typeof d === 'string' ? d : d.toISOString());

export function connectionView(c: DidCommConnectionRecord): ConnectionView {
  return {
    id: c.id,
    theirLabel: c.theirLabel,
    state: c.state,
    ready: c.isReady,
    ourDid: c.did,
    theirDid: c.theirDid,
    createdAt: iso(c.createdAt),
  };
}

export function credentialView(id: string, vc: W3cJsonLdVerifiableCredential): CredentialView {
  const subject = (Array.isArray(vc.credentialSubject)
    ? vc.credentialSubject[0]
    : vc.credentialSubject) as unknown as {
    id?: string;
    claims?: Record<string, unknown>;
  } & Record<string, unknown>;
  const claims = { ...(subject.claims ?? {}), ...subject } as Record<string, unknown>;
  const limit = typeof claims['spendingLimit'] === 'string' ? claims['spendingLimit'] : undefined;
  const ton = claims['backend'] === 'ton';
  return {
    id,
    issuer: typeof vc.issuer === 'string' ? vc.issuer : vc.issuer.id,
    subject: subject.id ?? '',
    types: [...vc.type],
    claims: {
      ethereumAddress: String(claims['ethereumAddress'] ?? ''),
      ...(ton ? { backend: 'ton' as const, tonAddress: String(claims['tonAddress'] ?? '') } : {}),
      name: typeof claims['name'] === 'string' ? claims['name'] : undefined,
      spendingLimit:
        limit !== undefined && /^\d+$/.test(limit)
          ? formatAmount(BigInt(limit), coinDecimals(ton ? 'ton' : undefined))
          : undefined,
    },
    issuanceDate: vc.issuanceDate,
    expirationDate: vc.expirationDate,
  };
}

export function messageView(r: DidCommBasicMessageRecord): MessageView {
  return {
    id: r.id,
    connectionId: r.connectionId,
    content: r.content,
    direction: r.role === DidCommBasicMessageRole.Sender ? 'sent' : 'received',
    sentTime: r.sentTime,
  };
}

/** A pending proposal from a verified peer: what it puts in and asks of us, in `asset`. */
export function proposalView(
  p: IncomingProposal,
  peer: VerifiedPeer,
  connection: DidCommConnectionRecord | null,
  asset: AssetInfo,
  funds: { ours: bigint; peer: bigint },
): ProposalView {
  return {
    id: p.proposalID.toLowerCase(),
    connectionId: connection?.id,
    peerDid: p.peer,
    peerLabel: connection?.theirLabel,
    claims: {
      issuer: peer.issuer,
      ...(peer.backend === 'ton'
        ? { ethereumAddress: '', backend: 'ton' as const, tonAddress: peer.address }
        : { ethereumAddress: peer.address }),
      name: peer.name,
      spendingLimit:
        peer.spendingLimit === undefined
          ? undefined
          : formatAmount(peer.spendingLimit, coinDecimals(peer.backend)),
    },
    asset: asset.symbol,
    peerFund: format(asset, funds.peer),
    ourFund: format(asset, funds.ours),
    challengeDuration: Number(p.challengeDuration),
    status: 'pending',
    receivedAt: new Date().toISOString(),
  };
}

/** Who a channel's peer is to us: our connection with it and its label, by its DID. */
export interface PeerNames {
  connectionIdOf(did: string): string | undefined;
  labelOf(did: string): string | undefined;
}

/** Channels, payments and settlements in the units of their asset. */
export class ChannelViews {
  /** Views of payments we sent, until the call that asked for each takes it. */
  readonly #sent = new Map<string, PaymentView>();
  /** The end of the challenge of each channel's latest on-chain dispute, chain time in seconds. */
  readonly #challengeEnds = new Map<string, bigint>();

  constructor(
    private readonly assets: Assets,
    /** Our account: what a settlement withdraws to. */
    private readonly address: string,
    private readonly peers: PeerNames,
  ) {}

  /** Whether the agent runs on several chains: then views name each asset's chain. */
  get #severalChains(): boolean {
    return this.assets.chainIds.length > 1;
  }

  /** `{ chainId }` of an asset where the agent runs on several chains (one chain: views as they always were). */
  #chainOf(asset: AssetInfo): { chainId?: string } {
    return this.#severalChains ? { chainId: asset.chainId } : {};
  }

  /** The channel's asset `index` (default its first: most of our channels hold one). */
  assetOf(c: ChannelInfo, index = 0): AssetInfo {
    return this.assets.ofAsset(c.state?.outcome.assets[index]);
  }

  /** Each asset of the channel with its chain and our and the peer's share, in its units. */
  #assetViews(c: ChannelInfo): ChannelAssetView[] {
    const state = c.state;
    if (state === undefined) return [];
    return state.outcome.assets.map((_, i) => {
      const asset = this.assetOf(c, i);
      const row = state.outcome.balances[i] ?? [];
      return {
        chainId: asset.chainId,
        asset: asset.symbol,
        ...(asset.token === undefined ? {} : { token: asset.token }),
        ourBalance: format(asset, row[c.idx] ?? 0n),
        theirBalance: format(asset, row[1 - c.idx] ?? 0n),
      };
    });
  }

  channel(c: ChannelInfo): ChannelView {
    const asset = this.assetOf(c);
    return channelView(
      {
        id: c.id,
        peer: c.peer,
        idx: c.idx,
        phase: c.phase,
        version: c.state?.version ?? 0n,
        balances: c.state?.outcome.balances[0] ?? [],
        locked: (c.state?.outcome.locked ?? []).map((l) => l.balances[0]),
        isFinal: c.state?.isFinal ?? false,
        challengeDuration: c.params.challengeDuration,
        participants: c.params.participants.map((p) => p.ethAddress),
        virtual: c.params.virtualChannel,
        ...(c.parent === undefined ? {} : { parent: c.parent }),
        queuedPayments: c.queuedPayments,
        synced: c.synced,
      },
      { connectionId: this.peers.connectionIdOf(c.peer), label: this.peers.labelOf(c.peer) },
      { symbol: asset.symbol, ...this.#chainOf(asset), format: (amount) => format(asset, amount) },
      {
        ...(this.#severalChains || (c.state?.outcome.assets.length ?? 0) > 1
          ? { assets: this.#assetViews(c) }
          : {}),
        ...this.#challengeEnd(c),
      },
    );
  }

  /** Notes a state of channel `channelId` registered or progressed on chain, disputable until `timeout`. */
  noteDispute(channelId: string, timeout: bigint): void {
    this.#challengeEnds.set(channelId, timeout);
  }

  #challengeEnd(c: ChannelInfo): { challengeEndsAt?: string } {
    const end = this.#challengeEnds.get(c.id);
    if (end === undefined || c.phase === 'Withdrawn') return {};
    return { challengeEndsAt: new Date(Number(end) * 1000).toISOString() };
  }

  /** Payment `p` of channel `c`, one of the `batch` payments of the update that made `state`. */
  payment(
    c: ChannelInfo,
    state: State,
    p: PaymentRecord,
    direction: 'sent' | 'received',
    batch: number,
  ): PaymentView {
    const asset = this.assetOf(c, p.asset);
    const balances = state.outcome.balances[p.asset] ?? state.outcome.balances[0]!;
    return {
      id: p.id,
      channelId: c.id,
      asset: asset.symbol,
      ...this.#chainOf(asset),
      version: state.version.toString(),
      amount: format(asset, p.amount),
      direction,
      ourBalance: format(asset, balances[c.idx]!),
      theirBalance: format(asset, balances[1 - c.idx]!),
      batch,
      at: new Date().toISOString(),
    };
  }

  /** Payment `row` of channel `c`'s payment log, one of `batch` in its update. */
  loggedPayment(c: ChannelInfo, row: StoredPayment, batch: number): PaymentView {
    const asset = this.assetOf(c, row.asset);
    return {
      id: row.id,
      channelId: c.id,
      asset: asset.symbol,
      ...this.#chainOf(asset),
      version: row.version.toString(),
      amount: format(asset, row.amount),
      direction: row.payer === c.idx ? 'sent' : 'received',
      ourBalance: format(asset, row.balances[c.idx] ?? 0n),
      theirBalance: format(asset, row.balances[1 - c.idx] ?? 0n),
      batch,
      at: new Date(row.at).toISOString(),
    };
  }

  /** Remembers the view of a payment we sent, for the call that asked for it. */
  rememberSent(view: PaymentView): void {
    this.#sent.set(view.id, view);
    if (this.#sent.size > 4096) this.#sent.delete(this.#sent.keys().next().value!);
  }

  /** The view of our payment `id` (once), as the client's events told it. */
  takeSent(id: string): PaymentView | undefined {
    const view = this.#sent.get(id);
    this.#sent.delete(id);
    return view;
  }

  settlement(
    c: ChannelInfo,
    withdrawn: { asset: number; amount: bigint }[],
    alreadySettled = false,
  ): SettlementView {
    return {
      channelId: c.id,
      alreadySettled,
      withdrawn: withdrawn.map((w) => {
        const asset = this.assetOf(c, w.asset);
        return {
          asset: asset.symbol,
          ...this.#chainOf(asset),
          amount: format(asset, w.amount),
          receiver: this.address,
        };
      }),
    };
  }
}
