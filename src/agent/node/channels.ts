// Our channels: opening them (ledger channels with a verified peer, sub-channels, virtual
// channels through an intermediary, and the app channels of credential sales), paying, closing,
// disputing, their signed states and payment history, and our balances on chain and in channels.
import { randomUUID } from 'node:crypto';
import type { ChannelInfo } from '../../channels/client.js';
import { erc20Contract } from '../../channels/ethereum/contracts.js';
import { paramsToJson, stateToJson } from '../../channels/json.js';
import { ChannelClientError, InvalidTransitionError } from '../../channels/errors.js';
import type { Hex } from '../../channels/types.js';
import type { VerifyOptions } from '../../protocols/identity/index.js';
import { ApiRequestError } from '../api/api-error.js';
import { format, parse, type AssetInfo } from './assets.js';
import type { Connections } from './connections.js';
import type { NodeContext } from './context.js';
import { backendUnsupported } from './ledger.js';
import { logDecision } from './proposals.js';
import type {
  BalanceView,
  ChannelView,
  OpenChannelRequest,
  OpenSubChannelRequest,
  OpenVirtualChannelRequest,
  PaymentView,
  SettlementView,
  SignedStateView,
} from './types.js';
import type { ChannelViews } from './views.js';

const shortId = (id: string) => `${id.slice(0, 10)}…`;

/** The core's "negative balance" refusal of a payment, in the asset's units; undefined for other errors. */
function insufficient(err: unknown, asset: AssetInfo): ChannelClientError | undefined {
  if (!(err instanceof InvalidTransitionError) || err.code !== 'NEGATIVE_BALANCE') return undefined;
  const { channelId, available, amount } = err.details as {
    channelId?: string;
    available?: string;
    amount?: string;
  };
  if (channelId === undefined || available === undefined || amount === undefined) return undefined;
  const [have, asked] = [format(asset, BigInt(available)), format(asset, BigInt(amount))];
  return new ChannelClientError(
    'INSUFFICIENT_BALANCE',
    `insufficient balance in channel ${shortId(channelId)}: ${have} ${asset.symbol} available, ${asked} ${asset.symbol} asked`,
    {
      channelId,
      asset: asset.symbol,
      available: have,
      asked,
      availableBaseUnits: available,
      askedBaseUnits: amount,
    },
    { cause: err },
  );
}

export class Channels {
  constructor(
    private readonly ctx: NodeContext,
    private readonly connections: Connections,
    private readonly views: ChannelViews,
  ) {}

  /** Our channels (not the virtual channels we are the intermediary of: their money is not ours). */
  list(): ChannelView[] {
    return this.ctx.client
      .channels()
      .filter((c) => c.observer !== true)
      .map((c) => this.views.channel(c));
  }

  get(id: string): ChannelView {
    return this.views.channel(this.ctx.client.channel(id));
  }

  async open(req: OpenChannelRequest): Promise<ChannelView> {
    const { agent, client, ledger, config, policy } = this.ctx;
    const asset = this.ctx.assets.named(req.asset);
    const c = await this.connections.ready(req.connectionId);
    const [fund, peerFund] = this.#funds(asset, req, 'channel');
    const challengeDuration = BigInt(req.challengeDuration ?? config.challengeDuration);
    const { channel } = await agent.modules.identity
      .proposeToVerifiedPeer(
        client,
        c.id,
        policy,
        {
          allocation: ledger.allocation(asset, [fund, peerFund]),
          challengeDuration,
        },
        this.#verifyOptions(),
      )
      .catch((err: unknown) => {
        throw this.#unanswered(err, c.id, c.theirLabel) ?? err;
      });
    return this.views.channel(channel);
  }

  /** The core's "no answer to the proposal" in the user's terms: who, on which connection, how long. */
  #unanswered(err: unknown, connectionId: string, label: string | undefined): ChannelClientError | undefined {
    if (!(err instanceof ChannelClientError) || err.code !== 'PEER_TIMEOUT' || !('peer' in err.details))
      return undefined;
    const seconds = Math.round(this.ctx.timeoutMs / 1000);
    return new ChannelClientError(
      'PEER_TIMEOUT',
      `${label ?? 'the peer'} did not answer the channel proposal within ${seconds} s (connection ${connectionId})`,
      { connectionId, peerLabel: label, timeoutSeconds: seconds },
      { cause: err },
    );
  }

  /** How the peer is verified before we propose: with the node's timeout, relying on an earlier verification. */
  #verifyOptions(): VerifyOptions {
    return {
      timeoutMs: this.ctx.timeoutMs,
      reverifyAfterMs: this.ctx.config.reverifyAfterSeconds * 1000,
      onDecision: logDecision(this.ctx.log),
    };
  }

  /** A credential sale's app channel (ETH) to the verified peer on the connection, once it is open. */
  async openApp(connectionId: string, req: { price: bigint; initData: Hex; app: Hex }): Promise<ChannelInfo> {
    const { agent, client, assets, config, ledger, policy } = this.ctx;
    ledger.ethereum('credential sales');
    const { channel } = await agent.modules.identity.proposeToVerifiedPeer(
      client,
      connectionId,
      policy,
      {
        allocation: ledger.allocation(assets.eth, [req.price, 0n]),
        challengeDuration: BigInt(config.challengeDuration),
        app: req.app,
        initData: req.initData,
      },
      this.#verifyOptions(),
    );
    return channel;
  }

  /** What we and the peer put into a new channel of `asset`; 400 when it is nothing at all. */
  #funds(asset: AssetInfo, req: { fund: string; peerFund?: string }, what: string): [bigint, bigint] {
    const fund = parse(asset, req.fund);
    const peerFund = parse(asset, req.peerFund ?? '0');
    if (fund + peerFund === 0n)
      throw new ApiRequestError(400, 'INVALID_REQUEST', `a ${what} needs funds`, { field: 'fund' });
    return [fund, peerFund];
  }

  /** Refuses a feature the TON backend lacks (locked funds: sub- and virtual channels). */
  #ethereumOnly(feature: string): void {
    const { backend } = this.ctx.ledger;
    if (backend !== 'ethereum') throw backendUnsupported(feature, backend);
  }

  async openSub(parentId: string, req: OpenSubChannelRequest): Promise<ChannelView> {
    this.#ethereumOnly('sub-channels');
    const parent = this.ctx.client.channel(parentId);
    const asset = this.views.assetOf(parent);
    const [fund, peerFund] = this.#funds(asset, req, 'sub-channel');
    const row = parent.idx === 0 ? [fund, peerFund] : [peerFund, fund];
    return this.views.channel(await this.ctx.client.proposeSubChannel(parent.id, { balances: [row] }));
  }

  async openVirtual(req: OpenVirtualChannelRequest): Promise<ChannelView> {
    this.#ethereumOnly('virtual channels');
    const { agent, client, policy } = this.ctx;
    const parent = client.channel(req.via);
    const asset = this.views.assetOf(parent);
    const [fund, peerFund] = this.#funds(asset, req, 'virtual channel');
    const c = await this.connections.ready(req.connectionId);
    // The peer's credential first: its verified address is the virtual channel's participant.
    const peer = await agent.modules.identity.verifyPeer(c.id, policy, this.#verifyOptions());
    const channel = await client.proposeVirtualChannel({
      peer: peer.did,
      peerAddress: peer.address,
      parent: parent.id,
      balances: [[fund, peerFund]],
    });
    return this.views.channel(channel);
  }

  async pay(channelId: string, amount: string, id: string = randomUUID()): Promise<PaymentView> {
    const info = this.ctx.client.channel(channelId);
    const units = parse(this.views.assetOf(info), amount);
    if (units === 0n)
      throw new ApiRequestError(400, 'INVALID_AMOUNT', 'a payment must be positive', { amount });
    const state = await this.ctx.client.sendPayment(info.id, units, 0, id).catch((err: unknown) => {
      throw insufficient(err, this.views.assetOf(info)) ?? err;
    });
    return (
      this.views.takeSent(id) ?? this.views.payment(info, state, { id, asset: 0, amount: units }, 'sent', 1)
    );
  }

  async close(channelId: string): Promise<SettlementView> {
    const info = this.ctx.client.channel(channelId);
    const already = info.phase === 'Withdrawn';
    return this.views.settlement(info, await this.ctx.client.settle(info.id), already);
  }

  async dispute(channelId: string): Promise<SettlementView> {
    const info = this.ctx.client.channel(channelId);
    return this.views.settlement(info, await this.ctx.client.dispute(info.id));
  }

  async payments(channelId?: string, newest?: number): Promise<PaymentView[]> {
    // The log holds our latest payments once written.
    await this.ctx.client.flush(channelId as Hex | undefined);
    return this.ctx.history.list(channelId, newest);
  }

  async signedState(channelId: string): Promise<SignedStateView> {
    const info = this.ctx.client.channel(channelId);
    await this.ctx.client.flush(info.id);
    const record = await this.ctx.store.getChannel(info.id);
    const current = record?.current;
    if (current == null)
      throw new ApiRequestError(409, 'NOT_SIGNED', 'the channel has no fully signed state yet', {
        channelId,
      });
    return {
      channelId: info.id,
      version: current.state.version.toString(),
      params: paramsToJson(record!.params),
      state: stateToJson(current.state),
      sigs: [...current.sigs],
    };
  }

  async balance(): Promise<BalanceView> {
    const { assets, ledger } = this.ctx;
    const open = this.ctx.client
      .channels()
      .filter((c) => c.phase !== 'Withdrawn' && c.state !== undefined && c.observer !== true);
    const inChannels = (asset: AssetInfo) =>
      format(
        asset,
        open
          .filter((c) => this.views.assetOf(c) === asset)
          .reduce((sum, c) => sum + (c.state!.outcome.balances[0]?.[c.idx] ?? 0n), 0n),
      );
    const tokens = await Promise.all(
      assets.all
        .filter((a) => a.token !== undefined)
        .map(async (a) => {
          const { chain, signer } = ledger.ethereum('token balances');
          const held = (await erc20Contract(a.token!, chain.provider)
            .getFunction('balanceOf')
            .staticCall(signer.address)) as bigint;
          return { asset: a.symbol, token: a.token!, onChain: format(a, held), inChannels: inChannels(a) };
        }),
    );
    return {
      address: ledger.address,
      ...(ledger.account === ledger.address ? {} : { account: ledger.account }),
      onChain: format(assets.eth, await ledger.nativeBalance()),
      inChannels: inChannels(assets.eth),
      channels: open.length,
      tokens,
    };
  }
}
