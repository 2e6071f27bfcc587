// The agent's log: one line per entry, with its time, level, message and fields, at four levels
// (error, warn, info, debug), as readable text or as JSON lines. `perun-agent start` writes it on
// stderr at the level and format of its settings (`logLevel`, `logFormat`); Credo's own logger is
// wired to it (../credo/credo-logger.ts). Written here rather than taken from pino or winston: the
// agent needs levels, a timestamp and JSON that never throws, which is this file, and no
// dependency (or its worker threads and transports) to audit and keep.

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogFields = Record<string, unknown>;

export interface Logger {
  /** The least severe level written. */
  readonly level: LogLevelName;
  /** Whether an entry at `level` would be written (to skip building expensive fields). */
  enabled(level: LogLevelName): boolean;
  log(level: LogLevelName, msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  /** Default info. */
  level?: LogLevelName;
  /** Default text; `message`: the message and fields alone (lineLogger). */
  format?: LogFormat | 'message';
  /** Takes one finished line, without its newline. */
  write: (line: string) => void;
  /** The clock; tests fix it. */
  now?: () => Date;
}

const SEVERITY: Record<LogLevelName, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export const isLogLevel = (v: unknown): v is LogLevelName => LOG_LEVELS.includes(v as LogLevelName);
export const isLogFormat = (v: unknown): v is LogFormat => LOG_FORMATS.includes(v as LogFormat);

/** Nesting kept in a field's value; deeper objects are summarised. */
const MAX_DEPTH = 6;

/**
 * A field's value as JSON can hold it: errors as their name, message and code, bigints as
 * decimal strings, cycles and deep nesting summarised, functions and symbols named.
 */
export function plain(value: unknown, depth = 0, seen: Set<object> = new Set()): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value === 'symbol') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? '[array]' : '[object]';
  seen.add(value);
  try {
    if (value instanceof Error) {
      const e = value as Error & { code?: unknown; cause?: unknown };
      const out: LogFields = { name: e.name, message: e.message };
      if (e.code !== undefined) out['code'] = plain(e.code, depth + 1, seen);
      if (e.cause !== undefined) out['cause'] = plain(e.cause, depth + 1, seen);
      return out;
    }
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
    if (value instanceof Uint8Array) return `[${value.length} bytes]`;
    if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1, seen));
    if (value instanceof Map) return plain(Object.fromEntries(value), depth, seen);
    if (value instanceof Set) return plain([...value], depth, seen);
    const out: LogFields = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plain(v, depth + 1, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

/** A field's value in a text line: bare when it is a plain word, else JSON (quoted strings). */
function textValue(value: unknown): string {
  if (typeof value === 'string' && /^[^\s"=]+$/.test(value)) return value;
  return JSON.stringify(value) ?? 'undefined';
}

const textFields = (fields: LogFields | undefined): string =>
  Object.entries(fields ?? {})
    .map(([k, v]) => ` ${k}=${textValue(v)}`)
    .join('');

/** `2026-01-02T03:04:05.678Z INFO  message key=value …` */
export function textLine(
  time: Date,
  level: LogLevelName,
  msg: string,
  fields: LogFields | undefined,
): string {
  return `${time.toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}${textFields(fields)}`;
}

/** `{"time":"…","level":"info","msg":"…","fields":{…}}` (fields only when there are some). */
export function jsonLine(
  time: Date,
  level: LogLevelName,
  msg: string,
  fields: LogFields | undefined,
): string {
  const entry: LogFields = { time: time.toISOString(), level, msg };
  if (fields !== undefined && Object.keys(fields).length > 0) entry['fields'] = fields;
  return JSON.stringify(entry);
}

export function createLogger(o: LoggerOptions): Logger {
  const level = o.level ?? 'info';
  const format = o.format ?? 'text';
  const now = o.now ?? (() => new Date());
  const line =
    format === 'json'
      ? jsonLine
      : format === 'text'
        ? textLine
        : (_: Date, __: LogLevelName, msg: string, fields: LogFields | undefined) => msg + textFields(fields);
  const enabled = (l: LogLevelName) => SEVERITY[l] <= SEVERITY[level];
  const log = (l: LogLevelName, msg: string, fields?: LogFields) => {
    if (!enabled(l)) return;
    const clean = fields === undefined ? undefined : (plain(fields) as LogFields);
    o.write(line(now(), l, msg, clean));
  };
  return {
    level,
    enabled,
    log,
    error: (msg, fields) => log('error', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    info: (msg, fields) => log('info', msg, fields),
    debug: (msg, fields) => log('debug', msg, fields),
  };
}

/**
 * The logger of a caller that takes plain lines (`log: (line) => void`, as in-process callers
 * and tests pass): the message and its fields without time or level, at info and above.
 */
export function lineLogger(log: ((line: string) => void) | undefined): Logger {
  return createLogger({ level: 'info', format: 'message', write: (line) => log?.(line) });
}
