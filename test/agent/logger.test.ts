// The agent's log (src/agent/log/logger.ts): which levels a level writes, the text and JSON
// lines, fields that JSON cannot hold as they are; Credo's logger wired to it
// (src/agent/credo/credo-logger.ts), in a real Credo agent: its errors at error, its debug entries
// only at debug; and the settings: logLevel and logFormat in config.json, PERUN_LOG_LEVEL and
// PERUN_LOG_FORMAT, checked like every other setting.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DidCommMessageReceiver } from '@credo-ts/didcomm';
import { createPerunAgent } from '../../src/agent/credo/agent.js';
import { CredoLogger } from '../../src/agent/credo/credo-logger.js';
import { openAgentStore } from '../../src/agent/datasource.js';
import { InMemoryKmsKeyStorage, PerunKeyManagementService } from '../../src/agent/kms/index.js';
import {
  LOG_LEVELS,
  createLogger,
  lineLogger,
  type LogLevelName,
  type Logger,
} from '../../src/agent/log/logger.js';
import { loadAgentConfig } from '../../src/agent/node/config.js';

const T = new Date('2026-01-02T03:04:05.678Z');

function capture(level: LogLevelName, format: 'text' | 'json' = 'text') {
  const lines: string[] = [];
  const logger = createLogger({ level, format, write: (l) => lines.push(l), now: () => T });
  return { logger, lines };
}

const everyLevel = (logger: Logger) => {
  logger.error('e');
  logger.warn('w');
  logger.info('i');
  logger.debug('d');
};

describe('levels', () => {
  test.each([
    ['error', ['e']],
    ['warn', ['e', 'w']],
    ['info', ['e', 'w', 'i']],
    ['debug', ['e', 'w', 'i', 'd']],
  ] as const)('%s writes %j', (level, written) => {
    const { logger, lines } = capture(level, 'json');
    everyLevel(logger);
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(written);
    expect(LOG_LEVELS.filter((l) => logger.enabled(l))).toHaveLength(written.length);
  });

  test('info by default', () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (l) => lines.push(l) });
    everyLevel(logger);
    expect(logger.level).toBe('info');
    expect(lines).toHaveLength(3);
  });
});

describe('lines', () => {
  test('text: time, level, message, then the fields as key=value (JSON where a value is not one word)', () => {
    const { logger, lines } = capture('debug');
    logger.warn('peer refused', { connection: 'c1', reason: 'no credential', n: 3, ok: true });
    logger.info('plain');
    expect(lines).toEqual([
      '2026-01-02T03:04:05.678Z WARN  peer refused connection=c1 reason="no credential" n=3 ok=true',
      '2026-01-02T03:04:05.678Z INFO  plain',
    ]);
  });

  test('json: one object a line with exactly time, level, msg and (when there are some) fields', () => {
    const { logger, lines } = capture('info', 'json');
    logger.info('REST API listening', { url: 'http://127.0.0.1:1' });
    logger.error('no fields');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      {
        time: '2026-01-02T03:04:05.678Z',
        level: 'info',
        msg: 'REST API listening',
        fields: { url: 'http://127.0.0.1:1' },
      },
      { time: '2026-01-02T03:04:05.678Z', level: 'error', msg: 'no fields' },
    ]);
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
  });

  test('fields JSON cannot hold as they are: bigints, errors, cycles, bytes, maps, deep nesting', () => {
    const { logger, lines } = capture('info', 'json');
    const cyclic: Record<string, unknown> = { name: 'me' };
    cyclic['self'] = cyclic;
    const err = Object.assign(new Error('boom', { cause: new TypeError('under') }), { code: 'E_X' });
    let deep: unknown = 'bottom';
    for (let i = 0; i < 10; i++) deep = { deeper: deep };
    logger.warn('odd fields', {
      wei: 3n * 10n ** 18n,
      err,
      cyclic,
      bytes: new Uint8Array(32),
      map: new Map([['a', 1]]),
      when: T,
      fn: function named() {},
      gone: undefined,
      deep,
    });
    const { fields } = JSON.parse(lines[0]!) as { fields: Record<string, unknown> };
    expect(fields).toMatchObject({
      wei: '3000000000000000000',
      err: { name: 'Error', message: 'boom', code: 'E_X', cause: { name: 'TypeError', message: 'under' } },
      cyclic: { name: 'me', self: '[circular]' },
      bytes: '[32 bytes]',
      map: { a: 1 },
      when: T.toISOString(),
      fn: '[function named]',
    });
    expect(fields).not.toHaveProperty('gone');
    expect(JSON.stringify(fields['deep'])).toContain('[object]');
  });

  test('a lineLogger (what in-process callers pass as log) gets the message and fields alone, info and up', () => {
    const lines: string[] = [];
    const logger = lineLogger((l) => lines.push(l));
    everyLevel(logger);
    logger.info('with', { a: 1 });
    expect(lines).toEqual(['e', 'w', 'i', 'with a=1']);
  });
});

describe("Credo's logger", () => {
  /** A Credo agent on our logger; an encrypted message it cannot decrypt, which Credo logs as an error. */
  async function credoSays(
    level: LogLevelName,
  ): Promise<Array<{ level: string; msg: string; fields?: object }>> {
    const { logger, lines } = capture(level, 'json');
    const ds = await openAgentStore(':memory:');
    const kms = await PerunKeyManagementService.open({
      storage: new InMemoryKmsKeyStorage(),
      passphrase: 'logger',
      scrypt: { N: 2 ** 12 },
    });
    const agent = createPerunAgent({ label: 'logged', dataSource: ds, kms, logger: new CredoLogger(logger) });
    try {
      await agent.initialize();
      expect(agent.config.logger).toBeInstanceOf(CredoLogger);
      const receiver = agent.dependencyManager.resolve(DidCommMessageReceiver);
      const garbage = { protected: 'e30', iv: 'AA', ciphertext: 'AA', tag: 'AA' };
      await expect(receiver.receiveMessage(garbage)).rejects.toThrow();
    } finally {
      await agent.shutdown();
      await ds.destroy();
    }
    return lines.map((l) => JSON.parse(l) as { level: string; msg: string; fields?: object });
  }

  test('at info: its error, with its data as fields; none of its info or debug entries', async () => {
    const entries = await credoSays('info');
    expect(entries).toContainEqual(
      expect.objectContaining({
        level: 'error',
        msg: 'credo: Error while decrypting message',
        fields: expect.objectContaining({ errorMessage: expect.any(String) }),
      }),
    );
    expect(entries.filter((e) => e.level === 'debug' || e.level === 'info')).toEqual([]);
  });

  test('at error: still its error; at debug: its debug entries too', async () => {
    expect((await credoSays('error')).map((e) => e.msg)).toContain('credo: Error while decrypting message');
    const debug = await credoSays('debug');
    expect(debug.filter((e) => e.level === 'debug' && e.msg.startsWith('credo: ')).length).toBeGreaterThan(0);
  });
});

describe('settings', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'perun-log-settings-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ logLevel: 'warn' }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('config.json < PERUN_LOG_* < flags; default info and text', () => {
    expect(loadAgentConfig({ dataDir: dir })).toMatchObject({ logLevel: 'warn', logFormat: 'text' });
    const env = { PERUN_LOG_LEVEL: 'debug', PERUN_LOG_FORMAT: 'json' };
    expect(loadAgentConfig({ dataDir: dir, env })).toMatchObject({ logLevel: 'debug', logFormat: 'json' });
    expect(loadAgentConfig({ dataDir: dir, env, flags: { logLevel: 'error' } })).toMatchObject({
      logLevel: 'error',
      logFormat: 'json',
    });
  });

  test.each([
    [{ PERUN_LOG_LEVEL: 'verbose' }, 'logLevel: expected one of error, warn, info, debug'],
    [{ PERUN_LOG_FORMAT: 'yaml' }, 'logFormat: expected one of text, json'],
  ])('%j is refused', (env, message) => {
    expect(() => loadAgentConfig({ dataDir: dir, env })).toThrow(message);
  });
});
