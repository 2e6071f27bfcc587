// The perun-agent command line's input: bad input is refused before any request; ID prefixes
// (ambiguous, unknown, any case, with or without 0x).
import { EXIT } from '../../src/agent/cli/output.js';
import { CH1, CH2, CONN1, CONN2, fake, cli, useFakeAgent } from './cli-support.js';

useFakeAgent();

describe('input is checked before any request', () => {
  it.each([
    [['pay', 'abc1', '1.2.3']],
    [['pay', 'abc1', '-1']],
    [['pay', 'abc1', '1e18']],
    [['pay', 'abc1', '0.0000000000000000001']],
    [['open', 'beef', '--fund', 'lots']],
    [['open', 'beef', '--fund', '1', '--peer-fund', '1,5']],
    [['open', 'beef', '--fund', '1', '--challenge-duration', '0']],
    [['issue-credential', 'beef', '--name', 'B', '--spending-limit', 'x']],
    [['issue-credential', 'beef', '--name', 'B', '--spending-limit', '1', '--address', '0x1234']],
    [['issue-credential', 'beef', '--name', 'B', '--spending-limit', '1', '--expires', 'tomorrow']],
    [['accept-invitation', 'not a url']],
    [['events', '--since', 'x']],
    [['payments', '--last', '0']],
    [['messages', '--last', '1001']],
  ])('%j exits 2 without a request', async (argv) => {
    const r = await cli([...argv, '--json']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(fake.requests).toEqual([]);
    expect(JSON.parse(r.stdout)).toMatchObject({ category: 'client' });
  });

  it('names the bad amount', async () => {
    const r = await cli(['pay', 'abc1', '1.2.3']);
    expect(r.stderr).toContain('amount: not an amount');
    expect(r.stderr).toContain('INVALID_AMOUNT');
  });
});

describe('ID prefixes', () => {
  it('an ambiguous prefix exits 2 and lists the candidates', async () => {
    const r = await cli(['pay', 'abc', '1']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain(`"abc" matches 2 channels (${CH1}, ${CH2})`);
    expect(fake.calls()).toEqual([['GET /channels', undefined]]);
  });

  it('an ambiguous connection prefix exits 2', async () => {
    const r = await cli(['message', 'c0ffee', 'hi', '--json']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(JSON.parse(r.stdout)).toMatchObject({
      code: 'AMBIGUOUS_ID',
      details: { matches: [CONN1, CONN2] },
    });
    expect(fake.calls()).toEqual([['GET /connections', undefined]]);
  });

  it('an unknown prefix exits 6', async () => {
    const r = await cli(['close', '0x999']);
    expect(r.code).toBe(EXIT.NOT_FOUND);
    expect(r.stderr).toContain('no channel "0x999"');
    const p = await cli(['accept-proposal', 'zz']);
    expect(p.code).toBe(EXIT.NOT_FOUND);
  });

  it('a full ID or a prefix in any case, with or without 0x', async () => {
    for (const arg of [CH2, CH2.toUpperCase().replace('0X', '0x'), 'ABC2', '0xAbC2']) {
      fake.requests.length = 0;
      expect((await cli(['pay', arg, '1'])).code).toBe(EXIT.OK);
      expect(fake.calls()[1]![0]).toBe(`POST /channels/${CH2}/payments`);
    }
  });
});
