// Funding a ledger channel once both signed its initial state: the funder deposits our share and
// waits for everyone's; then the channel is open (Acting) and watched. On a funding timeout what
// we deposited is taken back through a dispute of the initial state.
import { FundingTimeoutError } from '../errors.js';
import { disputeFlow } from './adjudicate.js';
import type { Channel } from './channel.js';
import type { ClientContext } from './context.js';
import { watch } from './watch.js';

export function fund(ctx: ClientContext, entry: Channel): Promise<void> {
  entry.funding = runFunding(ctx, entry);
  entry.funding.catch(() => undefined);
  return entry.funding;
}

async function runFunding(ctx: ClientContext, entry: Channel): Promise<void> {
  const m = entry.machine;
  try {
    await ctx.o.funder.fund(
      { params: m.params, state: m.current!.state, idx: m.idx },
      ctx.o.fundingTimeoutMs === undefined
        ? { signal: ctx.abort.signal }
        : { timeoutMs: ctx.o.fundingTimeoutMs, signal: ctx.abort.signal },
    );
  } catch (err) {
    ctx.emit({ type: 'funding-failed', channelId: entry.id, error: err });
    if (err instanceof FundingTimeoutError) {
      // Take back what we deposited: register the initial state, conclude it, withdraw.
      ctx.settleInBackground(entry, () => disputeFlow(ctx, entry));
    }
    throw err;
  }
  await entry.lock.run(async () => {
    if (m.phase !== 'Funding') return; // a dispute started meanwhile
    m.setPhase('Acting');
    await ctx.persist(entry);
  });
  await watch(ctx, entry);
  ctx.emit({ type: 'opened', channelId: entry.id, peer: entry.peer });
}
