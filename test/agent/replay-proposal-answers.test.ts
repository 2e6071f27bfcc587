// The replay guard in front of Credo's pipeline writes the IDs of proposal answers behind (a
// repeat finds no proposal of ours waiting, src/channels/client/dispatch.ts), while a proposal's
// ID is durable before its handler runs; a repeat of either is dropped before its handler.
import { DidCommInboundMessageContext, type DidCommMessage } from '@credo-ts/didcomm';
import { MESSAGE_CLASSES } from '../../src/protocols/perun/wire-format.js';
import { repeatChangesNothing } from '../../src/protocols/perun/lean/lean-path.js';
import { ReplayGuard, type ReplayStore, type SeenMessage } from '../../src/protocols/replay/replay-guard.js';
import { replayMiddleware } from '../../src/protocols/replay/replay-module.js';

const uri = (name: keyof typeof MESSAGE_CLASSES) => MESSAGE_CLASSES[name].type.messageTypeUri;

it('the answers to a proposal and the version-guarded messages may be written behind; proposals may not', () => {
  const behind = (Object.keys(MESSAGE_CLASSES) as (keyof typeof MESSAGE_CLASSES)[]).filter((n) =>
    repeatChangesNothing(uri(n)),
  );
  expect(behind.sort()).toEqual(
    [
      'channel-proposal-reject',
      'channel-sync',
      'channel-sync-batch',
      'channel-update',
      'channel-update-accept',
      'channel-update-reject',
      'ledger-channel-accept',
      'sub-channel-accept',
      'virtual-channel-accept',
    ].sort(),
  );
  expect(repeatChangesNothing('https://didcomm.org/basicmessage/1.0/message')).toBe(false);
});

it('a proposal’s ID is stored before its handler runs, an accept’s after; repeats of both are dropped', async () => {
  const stored: SeenMessage[] = [];
  const store: ReplayStore = {
    load: async () => [],
    write: async (change) => void stored.push(...change.add),
  };
  const guard = new ReplayGuard(store);
  const middleware = replayMiddleware(guard, repeatChangesNothing);
  const handled: { id: string; storedBefore: boolean }[] = [];
  const run = (message: DidCommMessage) =>
    middleware(
      new DidCommInboundMessageContext(message, {
        agentContext: { resolve: () => ({ emit: () => undefined }) } as never,
        connection: { id: 'c1' } as never,
      }),
      async () => {
        handled.push({ id: message.id, storedBefore: stored.some((s) => s.messageId === message.id) });
      },
    );
  const proposal = { id: 'proposal-0001', type: uri('ledger-channel-proposal') } as DidCommMessage;
  const accept = { id: 'accept-00001', type: uri('ledger-channel-accept') } as DidCommMessage;
  await run(proposal);
  await run(accept);
  await run(proposal);
  await run(accept);
  expect(handled).toEqual([
    { id: 'proposal-0001', storedBefore: true },
    { id: 'accept-00001', storedBefore: false },
  ]);
  expect(guard.repeats).toBe(2);
  await guard.flush();
  expect(stored.map((s) => s.messageId)).toEqual(['proposal-0001', 'accept-00001']);
});
