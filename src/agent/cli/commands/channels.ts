// The commands about channels: list them; open a ledger channel, a sub-channel or a virtual
// channel; pay; close cooperatively or settle by dispute (both following the channel's events
// while they wait); list payments.
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import type {
  ChannelView,
  OpenChannelAsset,
  OpenChannelRequest,
  OpenSubChannelRequest,
  OpenVirtualChannelRequest,
  PaymentView,
  SettlementView,
} from '../../node/types.js';
import {
  MAX_SECONDS,
  channelId,
  checkAmount,
  checkInteger,
  connectionId,
  lastQuery,
  oldestFirst,
  resolveId,
} from '../args.js';
import type { ApiClient } from '../client.js';
import { clientCommand, type ClientOpts, type CommandContext } from '../context.js';
import {
  channelLine,
  channelsTable,
  eventText,
  paymentLine,
  paymentsTable,
  settlementLine,
  usageError,
} from '../output.js';

const enc = encodeURIComponent;

/** `--chain-asset 31338,PRN,10[,5]`: one asset of a channel on several assets or chains. */
function chainAsset(text: string): OpenChannelAsset {
  const [chainId, asset, fund, peerFund, ...rest] = text.split(',').map((p) => p.trim());
  if (chainId === undefined || asset === undefined || fund === undefined || rest.length > 0)
    throw usageError(
      'INVALID_CHAIN_ASSET',
      `chain-asset: expected chainId,asset,fund[,peerFund] ("${text}")`,
      {
        'chain-asset': text,
      },
    );
  return {
    chainId,
    asset,
    fund: checkAmount(fund, 'chain-asset fund'),
    ...(peerFund === undefined ? {} : { peerFund: checkAmount(peerFund, 'chain-asset peerFund') }),
  };
}

/** Runs `work` while printing the channel's phase changes and dispute events from /events on stderr. */
async function withChannelProgress<T>(
  ctx: CommandContext,
  api: ApiClient,
  id: string,
  work: () => Promise<T>,
): Promise<T> {
  const { deps, progress } = ctx;
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  deps.interrupt.addEventListener('abort', onInterrupt, { once: true });
  const follow = (async () => {
    try {
      for await (const e of api.events({ signal: stop.signal, reconnectDelayMs: deps.reconnectDelayMs })) {
        const about = 'channelId' in e ? e.channelId : undefined;
        if (about === id && (e.type === 'channel-phase' || e.type === 'dispute' || e.type === 'warning')) {
          progress(eventText(e));
        }
      }
    } catch {
      // The stream is a courtesy; the request itself reports what went wrong.
    }
  })();
  try {
    return await work();
  } finally {
    stop.abort();
    deps.interrupt.removeEventListener('abort', onInterrupt);
    await follow;
  }
}

export function register(program: Command, ctx: CommandContext): void {
  const { progress, emit } = ctx;

  clientCommand(program, 'channels', 'list channels').action(async (o: ClientOpts) => {
    const list = await ctx.client(o).request<ChannelView[]>('GET', '/channels');
    emit(o, list, () => channelsTable(list));
  });

  clientCommand(
    program,
    'open',
    "open a channel with the peer on a connection (checks the peer's credential first)",
  )
    .argument('<connection>', 'connection ID or unique prefix')
    .option('--fund <eth>', 'what we put in, ETH (or the asset; required unless --chain-asset)')
    .option('--peer-fund <eth>', 'what the peer puts in, ETH (default 0)')
    .option('--asset <asset>', 'the asset', 'ETH')
    .option(
      '--chain-asset <chainId,asset,fund[,peerFund]>',
      'one asset of a channel on several assets or chains (repeat it; instead of --fund, --peer-fund, --asset)',
      (v: string, list: string[]) => [...list, v],
      [],
    )
    .option('--challenge-duration <seconds>', "seconds to answer a dispute (default: the agent's setting)")
    .action(
      async (
        conn: string,
        o: ClientOpts & {
          fund?: string;
          peerFund?: string;
          asset: string;
          chainAsset: string[];
          challengeDuration?: string;
        },
      ) => {
        const req: Omit<OpenChannelRequest, 'connectionId'> = {};
        if (o.chainAsset.length > 0) req.assets = o.chainAsset.map(chainAsset);
        else req.fund = checkAmount(o.fund ?? '', 'fund');
        if (o.peerFund !== undefined) req.peerFund = checkAmount(o.peerFund, 'peer-fund');
        if (o.asset !== 'ETH') req.asset = o.asset;
        if (o.challengeDuration !== undefined) {
          req.challengeDuration = checkInteger(o.challengeDuration, 'challenge-duration', 1, MAX_SECONDS);
        }
        const api = ctx.client(o);
        const id = await connectionId(api, conn);
        progress('proposing the channel; waiting for the peer to accept and for funding…');
        const c = await api.request<ChannelView>('POST', '/channels', { connectionId: id, ...req });
        emit(o, c, () => `opened ${channelLine(c)}\n`);
      },
    );

  clientCommand(program, 'open-sub', 'open a sub-channel funded by one of our channels (same peer)')
    .argument('<channel>', 'the funding channel: ID or unique prefix')
    .requiredOption('--fund <eth>', 'what we move into it, ETH')
    .option('--peer-fund <eth>', 'what the peer moves into it, ETH (default 0)')
    .action(async (chan: string, o: ClientOpts & { fund: string; peerFund?: string }) => {
      const req: OpenSubChannelRequest = { fund: checkAmount(o.fund, 'fund') };
      if (o.peerFund !== undefined) req.peerFund = checkAmount(o.peerFund, 'peer-fund');
      const api = ctx.client(o);
      const id = await channelId(api, chan);
      progress('proposing the sub-channel; waiting for the peer to accept and sign the funding…');
      const c = await api.request<ChannelView>('POST', `/channels/${enc(id)}/sub-channels`, req);
      emit(o, c, () => `opened ${channelLine(c)}\n`);
    });

  clientCommand(
    program,
    'open-virtual',
    "open a virtual channel with the peer on a connection through the intermediary of one of our channels (checks the peer's credential first)",
  )
    .argument('<connection>', 'connection ID or unique prefix of the peer')
    .requiredOption('--via <channel>', 'our ledger channel with the intermediary: ID or unique prefix')
    .requiredOption('--fund <eth>', 'what we put in, ETH')
    .option('--peer-fund <eth>', 'what the peer puts in, ETH (default 0)')
    .action(async (conn: string, o: ClientOpts & { via: string; fund: string; peerFund?: string }) => {
      const api = ctx.client(o);
      const req: OpenVirtualChannelRequest = {
        connectionId: await connectionId(api, conn),
        via: await channelId(api, o.via),
        fund: checkAmount(o.fund, 'fund'),
      };
      if (o.peerFund !== undefined) req.peerFund = checkAmount(o.peerFund, 'peer-fund');
      progress('proposing the virtual channel; waiting for the peer and the intermediary…');
      const c = await api.request<ChannelView>('POST', '/virtual-channels', req);
      emit(o, c, () => `opened ${channelLine(c)}\n`);
    });

  clientCommand(program, 'pay', 'pay the peer of a channel')
    .argument('<channel>', 'channel ID or unique prefix')
    .argument('<amount>', 'ETH')
    .option(
      '--id <payment-id>',
      'name the payment in both histories (1-64 of [A-Za-z0-9._:-]; default a UUID)',
    )
    .option(
      '--idempotency-key <key>',
      'pay once per key, also when run again (1-255 printable ASCII; default a fresh UUID per run)',
    )
    .option(
      '--asset <asset>',
      "of a channel with several assets, the one to pay in (default the channel's first)",
    )
    .option('--chain-id <id>', "the paid asset's chain, where the channel holds it on several")
    .action(
      async (
        chan: string,
        amountText: string,
        o: ClientOpts & { id?: string; idempotencyKey?: string; asset?: string; chainId?: string },
      ) => {
        const amount = checkAmount(amountText, 'amount');
        const api = ctx.client(o);
        const id = await channelId(api, chan);
        // The key makes a retry safe: a request whose answer was lost is sent again, and pays once.
        const key = o.idempotencyKey ?? randomUUID();
        const p = await api.idempotentPost<PaymentView>(
          `/channels/${enc(id)}/payments`,
          {
            amount,
            ...(o.id === undefined ? {} : { id: o.id }),
            ...(o.asset === undefined ? {} : { asset: o.asset }),
            ...(o.chainId === undefined ? {} : { chainId: o.chainId }),
          },
          key,
          {
            delayMs: ctx.deps.reconnectDelayMs,
            onRetry: (n, why) =>
              ctx.progress(`no answer (${why}); retrying the payment with the same key (${n})…`),
          },
        );
        emit(o, p, () => `${paymentLine(p)}\n`);
      },
    );

  clientCommand(program, 'close', 'close a channel cooperatively and withdraw our balance')
    .argument('<channel>', 'channel ID or unique prefix')
    .action(async (chan: string, o: ClientOpts) => {
      const api = ctx.client(o);
      const id = await channelId(api, chan);
      progress('closing: waiting for the peer and the chain…');
      const s = await withChannelProgress(ctx, api, id, () =>
        api.request<SettlementView>('POST', `/channels/${enc(id)}/close`),
      );
      emit(o, s, () => `${settlementLine(s)}\n`);
    });

  clientCommand(
    program,
    'dispute',
    'settle a channel on chain without the peer (register, wait out the challenge, withdraw)',
  )
    .argument('<channel>', 'channel ID or unique prefix')
    .action(async (chan: string, o: ClientOpts) => {
      const api = ctx.client(o);
      const channels = await api.request<ChannelView[]>('GET', '/channels');
      const id = await resolveId('channel', chan, async () => channels);
      const duration = channels.find((c) => c.id === id)?.challengeDuration;
      progress(
        `dispute: registering the latest state, then waiting out the challenge duration` +
          `${duration === undefined ? '' : ` (${duration} s)`}…`,
      );
      const s = await withChannelProgress(ctx, api, id, () =>
        api.request<SettlementView>('POST', `/channels/${enc(id)}/dispute`),
      );
      emit(o, s, () => `${settlementLine(s)}\n`);
    });

  clientCommand(program, 'payments', 'list payments')
    .option('--channel <channel>', 'only this channel (ID or unique prefix)')
    .option('--last <n>', 'only the newest n (1 to 1000)')
    .action(async (o: ClientOpts & { channel?: string; last?: string }) => {
      const query = lastQuery(o.last);
      const api = ctx.client(o);
      if (o.channel !== undefined) query.set('channelId', await channelId(api, o.channel));
      const text = query.toString();
      const page = await api.request<PaymentView[]>('GET', `/payments${text === '' ? '' : `?${text}`}`);
      const list = oldestFirst(page, o.last);
      emit(o, list, () => paymentsTable(list));
    });
}
