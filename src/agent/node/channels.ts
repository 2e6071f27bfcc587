// Our channels: opening them (ledger channels with a verified peer, sub-channels, virtual
// channels through an intermediary, and the app channels of credential sales), paying, closing,
// disputing, their signed states and payment history, and our balances on chain and in channels.
import { randomUUID } from 'node:crypto';
import type { ChannelInfo } from '../../channels/client.js';
import { erc20Contract } from '../../channels/ethereum/contracts.js';
import { paramsToJson, stateToJson } from '../../channels/json.js';
import { ChannelClientError, InvalidTransitionError } from '../../channels/errors.js';
import { ETH_BACKEND_ID, ethAsset } from '../../channels/ethereum/encoding.js';
import type { Allocation, Hex } from '../../channels/types.js';
import type { VerifyOptions } from '../../protocols/identity/index.js';
import type { EthereumConnection } from '../../channels/ethereum/config.js';
import { ApiRequestError } from '../api/api-error.js';
import { invalid } from '../api/validate.js';
import { formatAmount } from '../api/amounts.js';
import { format, isNamed, parse, type AssetInfo } from './assets.js';
import type { Connections } from './connections.js';
import type { NodeContext } from './context.js';
import { backendUnsupported } from './ledger.js';
import { logDecision } from './proposals.js';
import type {
  BalanceView,
  ChainBalanceView,
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
    const { agent, client, config, policy } = this.ctx;
    const allocation = this.#allocation(req);
    const c = await this.connections.ready(req.connectionId);
    const challengeDuration = BigInt(req.challengeDuration ?? config.challengeDuration);
    const { channel } = await agent.modules.identity
      .proposeToVerifiedPeer(
        client,
        c,
        policy,
        {
          allocation,
          challengeDuration,
        },
        this.#verifyOptions(),
      )
      .catch((err: unknown) => {
        throw this.#unanswered(err, c.id, c.theirLabel) ?? err;
      });
    return this.views.channel(channel);
  }

  /** A new channel's allocation: one asset (`fund`, `peerFund`, `asset`) or the `assets` list, each on its chain. */
  #allocation(req: OpenChannelRequest): Allocation {
    const { assets } = this.ctx;
    if (req.assets === undefined) {
      if (req.fund === undefined) throw invalid('fund', 'required (or assets)');
      const asset = assets.named(req.asset);
      const funds = this.#funds(asset, { fund: req.fund, peerFund: req.peerFund }, 'channel');
      // The primary chain's asset (a one-asset request names no chain).
      return this.ctx.ledger.allocation(asset, funds);
    }
    if (req.fund !== undefined || req.peerFund !== undefined || req.asset !== undefined)
      throw invalid('assets', 'not with fund, peerFund or asset');
    this.ctx.ledger.ethereum('channels with an assets list');
    const rows = req.assets.map((a) => {
      const asset = assets.named(a.asset, a.chainId);
      return { asset, funds: [parse(asset, a.fund), parse(asset, a.peerFund ?? '0')] };
    });
    rows.forEach(({ asset }, i) => {
      if (rows.findIndex((r) => r.asset === asset) !== i)
        throw invalid(`assets[${i}]`, `${asset.symbol} on chain ${asset.chainId} is named twice`);
    });
    if (rows.every((r) => r.funds[0]! + r.funds[1]! === 0n))
      throw new ApiRequestError(400, 'INVALID_REQUEST', 'a channel needs funds', { field: 'assets' });
    return {
      assets: rows.map((r) => ethAsset(BigInt(r.asset.chainId), r.asset.holder)),
      backends: rows.map(() => ETH_BACKEND_ID),
      balances: rows.map((r) => r.funds),
      locked: [],
    };
  }

  /**
   * The index in the channel of the asset a payment names (`asset` and/or `chainId`); the first
   * when it names none. 400 when the channel holds no such asset, or holds it on several chains
   * and `chainId` does not say which.
   */
  assetIndex(channelId: string, choice: { asset?: string; chainId?: string }): number {
    if (choice.asset === undefined && choice.chainId === undefined) return 0;
    const info = this.ctx.client.channel(channelId);
    const held = (info.state?.outcome.assets ?? []).map((_, i) => this.views.assetOf(info, i));
    const matching = held.flatMap((a, i) =>
      (choice.asset === undefined || isNamed(a, choice.asset)) &&
      (choice.chainId === undefined || a.chainId === choice.chainId)
        ? [i]
        : [],
    );
    const assets = held.map((a) => ({ chainId: a.chainId, asset: a.symbol }));
    if (matching.length === 0)
      throw new ApiRequestError(400, 'UNSUPPORTED_ASSET', 'the channel holds no such asset', {
        asset: choice.asset,
        chainId: choice.chainId,
        assets,
      });
    if (matching.length > 1)
      throw invalid('chainId', 'the channel holds this asset on several chains', { assets });
    return matching[0]!;
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

  /** Pays `amount` of the channel's asset `index` (default its first). */
  async pay(channelId: string, amount: string, id: string = randomUUID(), index = 0): Promise<PaymentView> {
    const info = this.ctx.client.channel(channelId);
    const asset = this.views.assetOf(info, index);
    const units = parse(asset, amount);
    if (units === 0n)
      throw new ApiRequestError(400, 'INVALID_AMOUNT', 'a payment must be positive', { amount });
    const state = await this.ctx.client.sendPayment(info.id, units, index, id).catch((err: unknown) => {
      throw insufficient(err, asset) ?? err;
    });
    return (
      this.views.takeSent(id) ??
      this.views.payment(info, state, { id, asset: index, amount: units }, 'sent', 1)
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
        open.reduce(
          (sum, c) =>
            c.state!.outcome.balances.reduce(
              (s, row, i) => (this.views.assetOf(c, i) === asset ? s + (row[c.idx] ?? 0n) : s),
              sum,
            ),
          0n,
        ),
      );
    if (ledger.backend !== 'ethereum')
      return {
        address: ledger.address,
        ...(ledger.account === ledger.address ? {} : { account: ledger.account }),
        onChain: format(assets.eth, await ledger.nativeBalance()),
        inChannels: inChannels(assets.eth),
        channels: open.length,
        tokens: [],
      };
    const { chains, signer } = ledger.ethereum('balances');
    const ofChain = async ({ config, provider }: EthereumConnection): Promise<ChainBalanceView> => {
      const chainId = config.chainId.toString();
      const onChain = assets.all.filter((a) => a.chainId === chainId);
      const tokens = await Promise.all(
        onChain
          .filter((a) => a.token !== undefined)
          .map(async (a) => {
            const held = (await erc20Contract(a.token!, provider)
              .getFunction('balanceOf')
              .staticCall(signer.address)) as bigint;
            return { asset: a.symbol, token: a.token!, onChain: format(a, held), inChannels: inChannels(a) };
          }),
      );
      const eth = onChain.find((a) => a.token === undefined)!;
      return {
        chainId,
        onChain: formatAmount(await provider.getBalance(signer.address)),
        inChannels: inChannels(eth),
        tokens,
      };
    };
    const perChain = await Promise.all(chains.map(ofChain));
    const primary = perChain[0]!;
    return {
      address: signer.address,
      onChain: primary.onChain,
      inChannels: primary.inChannels,
      channels: open.length,
      tokens: primary.tokens,
      ...(perChain.length > 1 ? { chains: perChain } : {}),
    };
  }
}
