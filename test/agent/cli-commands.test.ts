// The perun-agent client commands against a fake agent: each sends the right request and prints
// the answer; human output; pay's Idempotency-Key across lost answers; the global fetch.
import { IDEMPOTENT_ATTEMPTS } from '../../src/agent/cli/client.js';
import { EXIT } from '../../src/agent/cli/output.js';
import {
  TOKEN,
  ADDRESS,
  CH1,
  CH2,
  CH3,
  CONN1,
  CONN2,
  CONN3,
  PROP1,
  PROP2,
  info,
  connection,
  connections,
  credential,
  channel,
  channels,
  payment,
  proposal,
  settlement,
  balance,
  message,
  fake,
  cli,
  useFakeAgent,
} from './cli-support.js';

useFakeAgent();

describe('client commands send the right request', () => {
  const cases: [string[], [string, unknown][], unknown][] = [
    [['info'], [['GET /info', undefined]], info],
    [['invite'], [['POST /invitations', {}]], { id: 'oob-1', url: 'http://127.0.0.1:9000/?oob=eyJ9' }],
    [
      ['accept-invitation', 'http://127.0.0.1:9000/?oob=eyJ9'],
      [['POST /connections', { invitationUrl: 'http://127.0.0.1:9000/?oob=eyJ9' }]],
      connection(CONN1, 'bob'),
    ],
    [['connections'], [['GET /connections', undefined]], connections],
    [['credentials'], [['GET /credentials', undefined]], [credential]],
    [
      [
        'issue-credential',
        'c0ffee11',
        '--name',
        'Carol',
        '--spending-limit',
        '2.5',
        '--address',
        ADDRESS,
        '--expires',
        '2030-01-31T00:00:00Z',
      ],
      [
        ['GET /connections', undefined],
        [
          'POST /credentials/issue',
          {
            connectionId: CONN2,
            name: 'Carol',
            spendingLimit: '2.5',
            ethereumAddress: ADDRESS,
            expirationDate: '2030-01-31T00:00:00.000Z',
          },
        ],
      ],
      credential,
    ],
    [
      ['request-credential', 'beef', '--name', 'Alice'],
      [
        ['GET /connections', undefined],
        ['POST /credentials/request', { connectionId: CONN3, name: 'Alice' }],
      ],
      credential,
    ],
    [['channels'], [['GET /channels', undefined]], channels],
    [
      ['open', 'c0ffee00', '--fund', '1.5', '--peer-fund', '0.5', '--challenge-duration', '30'],
      [
        ['GET /connections', undefined],
        ['POST /channels', { connectionId: CONN1, fund: '1.5', peerFund: '0.5', challengeDuration: 30 }],
      ],
      channel(CH1, CONN1),
    ],
    [
      ['open', CONN3, '--fund', '2'],
      [
        ['GET /connections', undefined],
        ['POST /channels', { connectionId: CONN3, fund: '2' }],
      ],
      channel(CH1, CONN3),
    ],
    [
      ['open-sub', 'abc1', '--fund', '0.5', '--peer-fund', '0.25'],
      [
        ['GET /channels', undefined],
        [`POST /channels/${CH1}/sub-channels`, { fund: '0.5', peerFund: '0.25' }],
      ],
      { ...channel(CH2, CONN1), parentId: CH1 },
    ],
    [
      ['open-virtual', 'beef', '--via', 'abc1', '--fund', '1'],
      [
        ['GET /connections', undefined],
        ['GET /channels', undefined],
        ['POST /virtual-channels', { connectionId: CONN3, via: CH1, fund: '1' }],
      ],
      { ...channel(CH3, CONN3), parentId: CH1, virtual: true },
    ],
    [
      ['pay', 'abc1', '0.25'],
      [
        ['GET /channels', undefined],
        [`POST /channels/${CH1}/payments`, { amount: '0.25' }],
      ],
      payment(CH1, '0.25'),
    ],
    [
      ['pay', 'abc1', '0.25', '--id', 'invoice-7'],
      [
        ['GET /channels', undefined],
        [`POST /channels/${CH1}/payments`, { amount: '0.25', id: 'invoice-7' }],
      ],
      payment(CH1, '0.25'),
    ],
    [
      ['close', 'DEF0'],
      [
        ['GET /channels', undefined],
        [`POST /channels/${CH3}/close`, {}],
      ],
      settlement(CH3),
    ],
    [
      ['dispute', '0xabc2'],
      [
        ['GET /channels', undefined],
        [`POST /channels/${CH2}/dispute`, {}],
      ],
      settlement(CH2),
    ],
    [['payments'], [['GET /payments', undefined]], [payment(CH1, '0.25')]],
    [
      ['payments', '--last', '20', '--channel', 'def'],
      [
        ['GET /channels', undefined],
        [`GET /payments?limit=20&reversed=true&channelId=${CH3}`, undefined],
      ],
      [payment(CH3, '0.25')],
    ],
    [
      ['messages', '--last', '5'],
      [['GET /messages?limit=5&reversed=true', undefined]],
      [message(CONN1, 'hi')],
    ],
    [
      ['payments', '--channel', 'def'],
      [
        ['GET /channels', undefined],
        [`GET /payments?channelId=${CH3}`, undefined],
      ],
      [payment(CH3, '0.25')],
    ],
    [['proposals'], [['GET /proposals', undefined]], [proposal(PROP1), proposal(PROP2)]],
    [
      ['accept-proposal', 'a1'],
      [
        ['GET /proposals', undefined],
        [`POST /proposals/${PROP1}/accept`, {}],
      ],
      { ...proposal(PROP1), status: 'accepted' },
    ],
    [
      ['reject-proposal', 'b2', '--reason', 'too much'],
      [
        ['GET /proposals', undefined],
        [`POST /proposals/${PROP2}/reject`, { reason: 'too much' }],
      ],
      { ...proposal(PROP2), status: 'rejected' },
    ],
    [['balance'], [['GET /balance', undefined]], balance],
    [
      ['message', 'beef', 'hello', 'there'],
      [
        ['GET /connections', undefined],
        ['POST /messages', { connectionId: CONN3, content: 'hello there' }],
      ],
      message(CONN3, 'hello there'),
    ],
    [['messages'], [['GET /messages', undefined]], [message(CONN1, 'hi')]],
    [
      ['messages', '--connection', 'c0ffee11'],
      [
        ['GET /connections', undefined],
        [`GET /messages?connectionId=${CONN2}`, undefined],
      ],
      [message(CONN2, 'hi')],
    ],
  ];

  it.each(cases)('%j', async (argv, calls, answer) => {
    const human = await cli(argv);
    expect(human.code).toBe(EXIT.OK);
    expect(fake.calls()).toEqual(calls);
    expect(fake.requests.every((r) => r.auth === `Bearer ${TOKEN}`)).toBe(true);
    expect(human.stdout).not.toBe('');
    expect(() => JSON.parse(human.stdout)).toThrow();

    fake.requests.length = 0;
    const machine = await cli([...argv, '--json']);
    expect(machine.code).toBe(EXIT.OK);
    expect(fake.calls()).toEqual(calls);
    expect(JSON.parse(machine.stdout)).toEqual(JSON.parse(JSON.stringify(answer)));
  });

  it('human output is readable lines and tables', async () => {
    expect((await cli(['channels'])).stdout.split('\n')[0]).toMatch(
      /^ID\s+PEER\s+STATUS\s+VERSION\s+OURS\s+THEIRS/,
    );
    expect((await cli(['channels'])).stdout.split('\n')[1]).toMatch(/\sopen \(Acting\)\s+3\s/);
    expect((await cli(['pay', 'abc1', '0.25'])).stdout).toBe(
      `paid 0.25 ETH in channel ${CH1} (version 4): ours 8.75 ETH, theirs 11.25 ETH\n`,
    );
    expect((await cli(['balance'])).stdout).toContain('on chain     90 ETH');
    expect((await cli(['invite'])).stdout).toBe('http://127.0.0.1:9000/?oob=eyJ9\n');
    expect((await cli(['info'])).stdout).toMatch(/^signer +secp256k1 native$/m);
  });

  it('pay sends a fresh Idempotency-Key per run, and the same key again when the answer was lost', async () => {
    const paid = () => fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/payments'));
    const before = paid().length;
    fake.hangUps.set(`POST /channels/${CH1}/payments`, 1);
    const r = await cli(['pay', 'abc1', '0.25', '--json']);
    expect(r.code).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toEqual(payment(CH1, '0.25'));
    expect(r.stderr).toContain('retrying the payment with the same key');
    const [lost, retry] = paid().slice(before);
    expect(lost!.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(retry).toMatchObject({ idempotencyKey: lost!.idempotencyKey, body: lost!.body });

    await cli(['pay', 'abc1', '0.25']);
    await cli(['pay', 'abc1', '0.25', '--idempotency-key', 'order-7']);
    const [next, given] = paid().slice(before + 2);
    expect(next!.idempotencyKey).not.toBe(lost!.idempotencyKey);
    expect(given!.idempotencyKey).toBe('order-7');
  });

  it('pay gives up after a few attempts, all under one key, when no answer comes', async () => {
    const before = fake.requests.length;
    fake.hangUps.set(`POST /channels/${CH1}/payments`, 99);
    const r = await cli(['pay', 'abc1', '0.25']);
    fake.hangUps.clear();
    expect(r.code).toBe(EXIT.UNREACHABLE);
    const posts = fake.requests.slice(before).filter((q) => q.method === 'POST');
    expect(posts).toHaveLength(IDEMPOTENT_ATTEMPTS);
    expect(new Set(posts.map((q) => q.idempotencyKey)).size).toBe(1);
  });

  it('works over the global fetch too', async () => {
    const r = await cli(['pay', 'abc1', '1', '--json'], { deps: { fetch: globalThis.fetch } });
    expect(r.code).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toEqual(payment(CH1, '1'));
  });
});
