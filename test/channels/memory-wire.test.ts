// The in-memory wire: Alice, Bob and Carol on one bus. Messages arrive later, in order per
// pair, through the JSON codec; an outage loses messages and refuses sends until the peer is
// back; a filter can drop or tamper with messages; a slow or failing handler blocks nobody.
import { MalformedMessageError, PeerUnreachableError } from '../../src/channels/errors.js';
import type { ChannelMessage, ChannelUpdateAccept } from '../../src/channels/messages.js';
import { MemoryBus } from '../../src/channels/wire/memory.js';
import { CHANNEL_ID, alice, state } from './fixtures.js';

const SIG = alice.signState(state(1n));
const accept = (version: bigint): ChannelUpdateAccept => ({
  type: 'channel-update-accept',
  channelID: CHANNEL_ID,
  version,
  sig: SIG,
});

function inbox(bus: MemoryBus, id: string): Array<{ from: string; msg: ChannelMessage }> {
  const got: Array<{ from: string; msg: ChannelMessage }> = [];
  bus.connect(id).onMessage((from, msg) => {
    got.push({ from, msg });
  });
  return got;
}

describe('the memory bus', () => {
  it('delivers asynchronously, naming the sender, through the JSON codec', async () => {
    const bus = new MemoryBus();
    const a = bus.connect('alice');
    const bobGot = inbox(bus, 'bob');
    const msg: ChannelMessage = { type: 'channel-update', state: state(1n), actorIdx: 0, sig: SIG };
    await a.send('bob', msg);
    expect(bobGot).toHaveLength(0);
    await bus.settle();
    expect(bobGot).toEqual([{ from: 'alice', msg }]);
    expect(bobGot[0]!.msg).not.toBe(msg);
  });

  it('drops a message its decoder refuses, records the MalformedMessageError and delivers the next one', async () => {
    const bus = new MemoryBus();
    const a = bus.connect('alice');
    const bobGot = inbox(bus, 'bob');
    const bad = state(1n);
    bad.outcome.balances[0]![0] = -1n;
    await a.send('bob', { type: 'channel-update', state: bad, actorIdx: 0, sig: SIG });
    await a.send('bob', accept(2n));
    await bus.settle();
    expect(bobGot).toEqual([{ from: 'alice', msg: accept(2n) }]);
    expect(bus.handlerErrors).toHaveLength(1);
    expect(bus.handlerErrors[0]).toBeInstanceOf(MalformedMessageError);
  });

  it('keeps the order per pair while pairs interleave', async () => {
    const bus = new MemoryBus();
    const a = bus.connect('alice');
    const c = bus.connect('carol');
    const bobGot = inbox(bus, 'bob');
    const sends: Promise<void>[] = [];
    for (let v = 0n; v < 100n; v++) {
      sends.push(a.send('bob', accept(v)));
      sends.push(c.send('bob', accept(1000n + v)));
    }
    await Promise.all(sends);
    await bus.settle();
    const versions = (from: string) =>
      bobGot.filter((g) => g.from === from).map((g) => (g.msg as ChannelUpdateAccept).version);
    expect(versions('alice')).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i)));
    expect(versions('carol')).toEqual(Array.from({ length: 100 }, (_, i) => 1000n + BigInt(i)));
  });

  it('copies at send time, so the sender may change its objects afterwards', async () => {
    for (const serialize of [true, false]) {
      const bus = new MemoryBus({ serialize });
      const a = bus.connect('alice');
      const bobGot = inbox(bus, 'bob');
      const msg = accept(1n);
      await a.send('bob', msg);
      msg.version = 99n;
      await bus.settle();
      expect((bobGot[0]!.msg as ChannelUpdateAccept).version).toBe(1n);
    }
  });

  it('refuses sends to an unknown peer', async () => {
    const bus = new MemoryBus();
    await expect(bus.connect('alice').send('nobody', accept(1n))).rejects.toBeInstanceOf(
      PeerUnreachableError,
    );
  });

  it('simulates an outage: in-flight messages are lost, sends fail, and after reconnecting all works', async () => {
    const bus = new MemoryBus();
    const a = bus.connect('alice');
    const b = bus.connect('bob');
    const bobGot = inbox(bus, 'bob');
    await a.send('bob', accept(1n));
    bus.disconnect('bob');
    expect(bus.isConnected('bob')).toBe(false);
    await bus.settle();
    expect(bobGot).toHaveLength(0);
    await expect(a.send('bob', accept(2n))).rejects.toBeInstanceOf(PeerUnreachableError);
    await expect(b.send('alice', accept(2n))).rejects.toMatchObject({ code: 'PEER_UNREACHABLE' });
    bus.reconnect('bob');
    await a.send('bob', accept(3n));
    await bus.settle();
    expect(bobGot.map((g) => (g.msg as ChannelUpdateAccept).version)).toEqual([3n]);
  });

  it('stops delivering to a handler once it unsubscribes', async () => {
    const bus = new MemoryBus();
    const a = bus.connect('alice');
    const got: ChannelMessage[] = [];
    const off = bus.connect('bob').onMessage((_from, msg) => {
      got.push(msg);
    });
    await a.send('bob', accept(1n));
    await bus.settle();
    off();
    await a.send('bob', accept(2n));
    await bus.settle();
    expect(got).toHaveLength(1);
    expect(bus.delivered).toBe(2);
  });

  it('lets a filter drop or tamper with messages', async () => {
    const bus = new MemoryBus();
    const a = bus.connect('alice');
    const bobGot = inbox(bus, 'bob');
    bus.setFilter((_from, _to, msg) => {
      if (msg.type !== 'channel-update-accept') return msg;
      if (msg.version === 1n) return null;
      return { ...msg, version: msg.version + 10n };
    });
    await a.send('bob', accept(1n));
    await a.send('bob', accept(2n));
    await bus.settle();
    expect(bobGot.map((g) => (g.msg as ChannelUpdateAccept).version)).toEqual([12n]);
    expect(bus.sent).toBe(2);
  });

  it('a failing handler is recorded and does not stop the others', async () => {
    const errors: unknown[] = [];
    const bus = new MemoryBus({ onHandlerError: (e) => errors.push(e) });
    const a = bus.connect('alice');
    bus.connect('bob').onMessage(() => {
      throw new Error('sync failure');
    });
    bus.connect('bob').onMessage(async () => {
      throw new Error('async failure');
    });
    const bobGot = inbox(bus, 'bob');
    await a.send('bob', accept(1n));
    await bus.settle();
    await new Promise((r) => setImmediate(r));
    expect(bobGot).toHaveLength(1);
    expect(bus.handlerErrors.map((e) => (e as Error).message).sort()).toEqual([
      'async failure',
      'sync failure',
    ]);
    expect(errors).toHaveLength(2);
  });

  it('a handler that waits for a reply from the same peer does not block delivery', async () => {
    const bus = new MemoryBus();
    const a = bus.connect('alice');
    const b = bus.connect('bob');
    const replies: ChannelMessage[] = [];
    a.onMessage((_f, m) => {
      replies.push(m);
    });
    const done = new Promise<bigint>((resolve) => {
      let waiting: ((m: ChannelUpdateAccept) => void) | undefined;
      b.onMessage(async (from, msg) => {
        const m = msg as ChannelUpdateAccept;
        if (waiting) return waiting(m);
        await b.send(from, accept(m.version + 1n));
        const next = await new Promise<ChannelUpdateAccept>((r) => (waiting = r));
        resolve(next.version);
      });
    });
    await a.send('bob', accept(1n));
    await bus.settle();
    await a.send('bob', accept(3n));
    expect(await done).toBe(3n);
    expect((replies[0] as ChannelUpdateAccept).version).toBe(2n);
  });
});
