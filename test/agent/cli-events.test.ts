// The perun-agent command line's event stream: one line (or JSON object) per event, reconnects
// with Last-Event-ID, --since; dispute's wait; an interrupted wait; parseSse.
import { parseSse } from '../../src/agent/cli/client.js';
import { EXIT } from '../../src/agent/cli/output.js';
import {
  ADDRESS,
  CH1,
  CH2,
  CH3,
  PROP1,
  payment,
  proposal,
  settlement,
  event,
  sseEvent,
  Output,
  fake,
  cli,
  useFakeAgent,
} from './cli-support.js';

useFakeAgent();

describe('events', () => {
  it('prints one line per event and reconnects with Last-Event-ID', async () => {
    const interrupt = new AbortController();
    const output = new Output();
    fake.onEvents = (res, _rec, nth) => {
      if (nth === 1) {
        sseEvent(res, event(1, { type: 'channel-phase', channelId: CH1, from: 'FUNDING', to: 'ACTING' }));
        sseEvent(
          res,
          event(2, { type: 'payment-received', payment: { ...payment(CH1, '0.5'), direction: 'received' } }),
        );
        res.end();
      } else {
        const sale = {
          id: 'sale-1',
          role: 'holder',
          connectionId: 'conn-1',
          peerDid: 'did:peer:2.x',
          price: '0.05',
          digest: '0x11',
          status: 'delivered',
          credential: {},
          channelId: CH1,
        };
        sseEvent(res, event(3, { type: 'credential-sale', sale }));
        sseEvent(res, event(4, { type: 'warning', context: 'watcher', message: 'slow chain' }));
      }
    };
    void output.until('stdout', 'slow chain').then(() => interrupt.abort());
    const r = await cli(['events'], { interrupt, output });
    expect(r.code).toBe(EXIT.OK);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      `2025-01-01T00:00:03.000Z  channel ${CH1}: FUNDING → ACTING`,
      `2025-01-01T00:00:03.000Z  received 0.5 ETH in channel ${CH1} (version 4): ours 8.75 ETH, theirs 11.25 ETH`,
      `2025-01-01T00:00:03.000Z  credential sale sale-1 (holder, 0.05 ETH) with connection conn-1: delivered on channel ${CH1}`,
      '2025-01-01T00:00:03.000Z  warning: watcher: slow chain',
    ]);
    expect(r.stderr).toContain('reconnecting');
    expect(fake.requests.map((q) => [q.path, q.lastEventId])).toEqual([
      ['/events', undefined],
      ['/events', '2'],
    ]);
  });

  it('--json prints one JSON object per line; --since replays', async () => {
    const interrupt = new AbortController();
    const output = new Output();
    const events = [
      event(8, { type: 'proposal', proposal: proposal(PROP1) }),
      event(9, { type: 'settled', settlement: settlement(CH2) }),
    ];
    fake.onEvents = (res) => events.forEach((e) => sseEvent(res, e));
    void output.until('stdout', /"id": ?9/).then(() => interrupt.abort());
    const r = await cli(['events', '--json', '--since', '7'], { interrupt, output });
    expect(r.code).toBe(EXIT.OK);
    expect(
      r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual(events);
    expect(fake.requests[0]!.lastEventId).toBe('7');
  });

  it('an unauthorized stream exits 7', async () => {
    const r = await cli(['events', '--token', 'nope']);
    expect(r.code).toBe(EXIT.UNAUTHORIZED);
  });

  it('dispute shows the channel events while it waits', async () => {
    const output = new Output();
    fake.onEvents = (res) => {
      sseEvent(res, event(1, { type: 'channel-phase', channelId: CH3, from: 'ACTING', to: 'REGISTERING' }));
      sseEvent(
        res,
        event(2, { type: 'dispute', channelId: CH1, version: '1', timeout: 'never', by: 'chain' }),
      );
      sseEvent(
        res,
        event(3, { type: 'dispute', channelId: CH2, version: '3', timeout: '1800000000', by: 'us' }),
      );
    };
    fake.before.set(`POST /channels/${CH2}/dispute`, () =>
      output.until('stderr', 'challenge ends 2027-01-15T08:00:00.000Z'),
    );
    const r = await cli(['dispute', 'abc2'], { output });
    expect(r.code).toBe(EXIT.OK);
    expect(r.stderr).toContain('waiting out the challenge duration (60 s)…');
    expect(r.stderr).toContain(
      `dispute on channel ${CH2}: version 3 registered by us, challenge ends 2027-01-15T08:00:00.000Z`,
    );
    expect(r.stderr).not.toContain(CH1);
    expect(r.stderr).not.toContain(CH3);
    expect(r.stdout).toBe(`channel ${CH2} settled: withdrew 9 ETH to ${ADDRESS}\n`);
  });

  it('an interrupted wait exits 130 and says the agent carries on', async () => {
    const interrupt = new AbortController();
    fake.before.set(`POST /channels/${CH1}/close`, () => new Promise(() => undefined));
    const output = new Output();
    void output.until('stderr', 'closing').then(() => interrupt.abort());
    const r = await cli(['close', 'abc1'], { interrupt, output });
    expect(r.code).toBe(EXIT.INTERRUPTED);
    expect(r.stderr).toContain('the agent carries on');
  });
});

describe('parseSse', () => {
  it('splits fields across chunks and line endings', async () => {
    const chunks = ['id: 1\r', '\nevent: a\ndata: x\nda', 'ta: y\n\n: comment\n\nretry: 50\ndata:z\r\r'];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const s of chunks) c.enqueue(new TextEncoder().encode(s));
        c.close();
      },
    });
    const got = [];
    for await (const m of parseSse(body)) got.push(m);
    expect(got).toEqual([
      { id: '1', event: 'a', data: 'x\ny', retry: undefined },
      { id: '1', event: 'message', data: 'z', retry: 50 },
    ]);
  });
});
