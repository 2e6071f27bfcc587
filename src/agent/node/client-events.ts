// The bridge from the channel client's events to the node's: each becomes an event for the API's
// stream (a payment one per payment of its update); credential sales see every one first. The
// payment history is the channel store's log, written with the states (./payment-history.ts).
import type { ChannelClient, ChannelInfo, ClientEvent } from '../../channels/client.js';
import type { NodeContext } from './context.js';
import type { CredentialSales } from './credential-sales.js';
import type { ChannelViews } from './views.js';

export function clientEventBridge(
  ctx: NodeContext,
  views: ChannelViews,
  sales: CredentialSales,
): (e: ClientEvent) => void {
  const { events, log } = ctx;
  return (e) => {
    void sales
      .onClientEvent(e)
      .catch((err: unknown) => log(`credential sale: ${err instanceof Error ? err.message : String(err)}`));
    const info =
      'channelId' in e && e.channelId !== undefined ? tryChannel(ctx.client, e.channelId) : undefined;
    switch (e.type) {
      case 'opened':
        if (info !== undefined) events.emit({ type: 'channel-opened', channel: views.channel(info) });
        break;
      case 'phase':
        events.emit({ type: 'channel-phase', channelId: e.channelId, from: e.from, to: e.to });
        break;
      case 'payment-sent':
      case 'payment-received': {
        if (info === undefined) break;
        const direction = e.type === 'payment-sent' ? 'sent' : 'received';
        for (const p of e.payments) {
          const payment = views.payment(info, e.state, p, direction, e.payments.length);
          if (direction === 'sent') views.rememberSent(payment);
          events.emit({ type: e.type, payment });
        }
        break;
      }
      case 'registered':
      case 'progressed':
        views.noteDispute(e.channelId, e.timeout);
        events.emit({
          type: 'dispute',
          channelId: e.channelId,
          version: e.version.toString(),
          timeout: e.timeout.toString(),
          by: e.by,
        });
        break;
      case 'settled':
        if (info !== undefined)
          events.emit({ type: 'settled', settlement: views.settlement(info, e.withdrawn) });
        break;
      case 'funding-failed':
      case 'warning':
        events.emit({
          type: 'warning',
          channelId: e.channelId,
          context: e.type === 'warning' ? e.context : 'funding',
          message: e.error instanceof Error ? e.error.message : String(e.error),
        });
        break;
      case 'updated':
        break;
    }
  };
}

function tryChannel(client: ChannelClient, id: string): ChannelInfo | undefined {
  try {
    return client.channel(id);
  } catch {
    return undefined;
  }
}
