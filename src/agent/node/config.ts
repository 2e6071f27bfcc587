// The agent's configuration and data directory: `config.json` (what the user may edit), the API
// token (`api-token`, readable by the owner only), and the database (`agent.sqlite` unless a
// PostgreSQL URL is configured) that holds the keys under the passphrase. Values come from the
// file, then environment variables (PERUN_*), then flags, each overriding the one before.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { PerunError } from '../../channels/errors.js';
import type { ScryptParams } from '../kms/index.js';
import { parseAmount } from '../api/amounts.js';
import { ApiRequestError } from '../api/api-error.js';
import type { InboundLimitOptions } from '../transport/index.js';
import {
  LOG_FORMATS,
  LOG_LEVELS,
  isLogFormat,
  isLogLevel,
  type LogFormat,
  type LogLevelName,
} from '../log/logger.js';
import { prepareSqliteFile, secureDataDir } from './data-dir.js';
import { freePort } from './free-port.js';

/** The fields of `config.json`; every one can also be set by environment variable and flag. */
export interface AgentConfigFile {
  label: string;
  /** An SQLite path (relative to the data directory) or a postgres:// URL. */
  database: string;
  didcommHost: string;
  didcommPort: number;
  /** The endpoint peers reach us at; default http://<didcommHost>:<didcommPort>. */
  didcommEndpoint: string;
  apiHost: string;
  apiPort: number;
  /** 'embedded' (a chain of this agent's own) or the path of a chain file (`perun-agent chain`). */
  chain: string;
  /** Issuer DIDs whose peer credentials we accept. */
  trustedIssuers: string[];
  /** Accept verified proposals without asking (up to autoAcceptMaxFund of ours). */
  autoAccept: boolean;
  /** ETH. */
  autoAcceptMaxFund: string;
  /** Issuer role: answer credential requests with this spending limit (ETH); empty = do not. */
  autoIssueSpendingLimit: string;
  /** Seconds. */
  challengeDuration: number;
  /** Channel proposals taken from one peer per minute; more are refused before any check. */
  proposalsPerMinute: number;
  /**
   * Seconds a peer verified on a connection stays verified for new channels on it (both ways;
   * never past its credential's expiry); 0 verifies it for every channel.
   */
  reverifyAfterSeconds: number;
  /** Lock collateral for virtual channels between our peers (sign their matched fundings). */
  intermediary: boolean;
  /** http(s) URLs every node event is POSTed to, signed (src/agent/api/webhooks.ts). */
  webhookUrls: string[];
  /** Webhook delivery (docs/agent.md#webhooks); unset: 8 attempts, 10 s, 300 s, 1,000 events. */
  webhookMaxAttempts?: number;
  /** Seconds a receiver has to answer one attempt. */
  webhookTimeout?: number;
  /** Seconds: the longest backoff between attempts. */
  webhookMaxDelay?: number;
  /** Events one webhook's queue holds before it drops its oldest. */
  webhookMaxQueued?: number;
  /**
   * Bounds of the DIDComm endpoint (docs/security.md); unset: the built-in defaults
   * (INBOUND_LIMIT_DEFAULTS in src/agent/transport/inbound-limits.ts).
   */
  didcommMaxMessageBytes?: number;
  didcommMaxRequests?: number;
  didcommMaxInflightBytes?: number;
  didcommMaxConnections?: number;
  /** Messages per second one source address may send (twice that in a burst). */
  didcommSourceRate?: number;
  /** Seconds a client has for a request's headers, and for its body. */
  didcommHeadersTimeout?: number;
  didcommBodyTimeout?: number;
  /** A WebSocket DIDComm listener on this port as well; 0: none. */
  didcommWsPort: number;
  /** The URL peers reach that listener at; default ws://<didcommHost>:<didcommWsPort>. */
  didcommWsEndpoint: string;
  /** Listen for DIDComm at all; false: reachable only through the mediator (mediatorInvitation). */
  inbound: boolean;
  /** Run as a mediator: grant mediation to agents that ask, queue their messages, serve pickup v2. */
  mediator: boolean;
  /** Mediator: days a queued message waits for its recipient before it is dropped. */
  mediatorKeepDays: number;
  /** An out-of-band invitation URL of a mediator: our endpoint is then the mediator's; '' none. */
  mediatorInvitation: string;
  /** Seconds between pickups from a mediator that offers no WebSocket (polling). */
  mediatorPollSeconds: number;
  /** The least severe entries `start` logs on stderr: error, warn, info or debug. */
  logLevel: LogLevelName;
  /** text (readable lines) or json (one JSON object a line). */
  logFormat: LogFormat;
}

export interface AgentConfig extends AgentConfigFile {
  dataDir: string;
  configFile: string;
  tokenFile: string;
}

export type ConfigErrorCode = 'NOT_INITIALISED' | 'ALREADY_INITIALISED' | 'INVALID_CONFIG' | 'NO_PASSPHRASE';

export class AgentConfigError extends PerunError {
  declare readonly code: ConfigErrorCode;
  constructor(code: ConfigErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.name = 'AgentConfigError';
  }
}

export const CONFIG_FILE = 'config.json';
export const TOKEN_FILE = 'api-token';
/** Written by a running agent: the URL of its API. */
export const API_URL_FILE = 'api-url';
export const ETHEREUM_SECRET = 'ethereum-account';

const DEFAULTS: AgentConfigFile = {
  label: 'perun-agent',
  database: 'agent.sqlite',
  didcommHost: '127.0.0.1',
  didcommPort: 0,
  didcommEndpoint: '',
  apiHost: '127.0.0.1',
  apiPort: 0,
  chain: 'embedded',
  trustedIssuers: [],
  autoAccept: true,
  autoAcceptMaxFund: '0',
  autoIssueSpendingLimit: '',
  challengeDuration: 60,
  proposalsPerMinute: 30,
  reverifyAfterSeconds: 300,
  intermediary: false,
  didcommWsPort: 0,
  didcommWsEndpoint: '',
  inbound: true,
  mediator: false,
  mediatorKeepDays: 7,
  mediatorInvitation: '',
  mediatorPollSeconds: 1,
  logLevel: 'info',
  logFormat: 'text',
  webhookUrls: [],
};

type Kind =
  | 'string'
  | 'port'
  | 'bytes'
  | 'seconds'
  | 'optional-seconds'
  | 'count'
  | 'boolean'
  | 'list'
  | 'url-list'
  | 'amount'
  | 'optional-amount'
  | 'log-level'
  | 'log-format';
const FIELDS: Record<keyof AgentConfigFile, Kind> = {
  label: 'string',
  database: 'string',
  didcommHost: 'string',
  didcommPort: 'port',
  didcommEndpoint: 'string',
  apiHost: 'string',
  apiPort: 'port',
  chain: 'string',
  trustedIssuers: 'list',
  autoAccept: 'boolean',
  autoAcceptMaxFund: 'amount',
  autoIssueSpendingLimit: 'optional-amount',
  challengeDuration: 'seconds',
  proposalsPerMinute: 'count',
  reverifyAfterSeconds: 'optional-seconds',
  intermediary: 'boolean',
  webhookUrls: 'url-list',
  webhookMaxAttempts: 'count',
  webhookTimeout: 'seconds',
  webhookMaxDelay: 'seconds',
  webhookMaxQueued: 'count',
  didcommMaxMessageBytes: 'bytes',
  didcommMaxRequests: 'count',
  didcommMaxInflightBytes: 'bytes',
  didcommMaxConnections: 'count',
  didcommSourceRate: 'count',
  didcommHeadersTimeout: 'seconds',
  didcommBodyTimeout: 'seconds',
  didcommWsPort: 'port',
  didcommWsEndpoint: 'string',
  inbound: 'boolean',
  mediator: 'boolean',
  mediatorKeepDays: 'count',
  mediatorInvitation: 'string',
  mediatorPollSeconds: 'seconds',
  logLevel: 'log-level',
  logFormat: 'log-format',
};

/** PERUN_ + the field in upper snake case: didcommPort → PERUN_DIDCOMM_PORT. */
export function envName(field: keyof AgentConfigFile): string {
  return 'PERUN_' + field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

/** Every environment variable the configuration reads (one per field). */
export const configEnvNames = (): string[] => (Object.keys(FIELDS) as (keyof AgentConfigFile)[]).map(envName);

function invalid(field: string, why: string, value: unknown): never {
  throw new AgentConfigError('INVALID_CONFIG', `${field}: ${why}`, { field, value });
}

/** One field's value from JSON, an environment string or a flag, checked and normalised. */
function coerce(field: keyof AgentConfigFile, value: unknown): unknown {
  const kind = FIELDS[field];
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') invalid(field, 'expected a string', value);
      return value;
    case 'port':
    case 'bytes':
    case 'seconds':
    case 'optional-seconds':
    case 'count': {
      const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
      const max =
        kind === 'port'
          ? 65_535
          : kind === 'count'
            ? 1_000_000
            : kind === 'bytes'
              ? 2 ** 40
              : 10 * 365 * 24 * 3600;
      const min = kind === 'port' || kind === 'optional-seconds' ? 0 : 1;
      const what = {
        port: 'a port number',
        bytes: 'a positive number of bytes',
        seconds: 'whole seconds',
        'optional-seconds': 'whole seconds (0 for none)',
        count: 'a positive whole number',
      }[kind];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
        invalid(field, `expected ${what}`, value);
      return n;
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      return invalid(field, 'expected true or false', value);
    case 'list':
    case 'url-list': {
      const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
      if (!Array.isArray(list) || list.some((s) => typeof s !== 'string'))
        invalid(field, 'expected a list of strings', value);
      const items = (list as string[]).filter((s) => s !== '');
      if (kind === 'url-list') {
        const bad = items.find((s) => !URL.canParse(s) || !/^https?:$/.test(new URL(s).protocol));
        if (bad !== undefined) invalid(field, 'expected http or https URLs', bad);
      }
      return items;
    }
    case 'amount':
    case 'optional-amount':
      if (typeof value !== 'string') invalid(field, 'expected an amount in ETH as a string', value);
      if (kind === 'optional-amount' && value === '') return value;
      try {
        parseAmount(value);
      } catch (err) {
        if (err instanceof ApiRequestError) invalid(field, 'expected an amount in ETH', value);
        throw err;
      }
      return value;
    case 'log-level':
      if (!isLogLevel(value)) invalid(field, `expected one of ${LOG_LEVELS.join(', ')}`, value);
      return value;
    case 'log-format':
      if (!isLogFormat(value)) invalid(field, `expected one of ${LOG_FORMATS.join(', ')}`, value);
      return value;
  }
}

function pick(source: Record<string, unknown>, where: string): Partial<AgentConfigFile> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(source)) {
    if (v === undefined) continue;
    if (!(k in FIELDS)) invalid(k, `unknown field in ${where}`, v);
    out[k] = coerce(k as keyof AgentConfigFile, v);
  }
  return out as Partial<AgentConfigFile>;
}

function fromEnv(env: NodeJS.ProcessEnv): Partial<AgentConfigFile> {
  const out: Record<string, unknown> = {};
  for (const field of Object.keys(FIELDS) as (keyof AgentConfigFile)[]) {
    const v = env[envName(field)];
    if (v !== undefined) out[field] = v;
  }
  return pick(out, 'the environment');
}

/** The data directory: the flag, else PERUN_DATA_DIR, else ./.perun-agent. */
export function dataDirOf(flag?: string, env: NodeJS.ProcessEnv = {}): string {
  return resolve(flag ?? env['PERUN_DATA_DIR'] ?? '.perun-agent');
}

/** The configuration of an initialised data directory: file < environment < flags. */
export function loadAgentConfig(o: {
  dataDir: string;
  flags?: Partial<AgentConfigFile>;
  env?: NodeJS.ProcessEnv;
}): AgentConfig {
  const dataDir = resolve(o.dataDir);
  const configFile = join(dataDir, CONFIG_FILE);
  if (!existsSync(configFile))
    throw new AgentConfigError('NOT_INITIALISED', `no agent in ${dataDir}: run perun-agent init first`, {
      dataDir,
    });
  let file: unknown;
  try {
    file = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch (err) {
    invalid(CONFIG_FILE, `not JSON (${(err as Error).message})`, undefined);
  }
  if (typeof file !== 'object' || file === null || Array.isArray(file))
    invalid(CONFIG_FILE, 'expected a JSON object', undefined);
  const merged: AgentConfigFile = {
    ...DEFAULTS,
    ...pick(file as Record<string, unknown>, CONFIG_FILE),
    ...fromEnv(o.env ?? {}),
    ...pick((o.flags ?? {}) as Record<string, unknown>, 'the flags'),
  };
  checkMediation(merged);
  return { ...merged, dataDir, configFile, tokenFile: join(dataDir, TOKEN_FILE) };
}

/** The mediation settings that cannot go together. */
function checkMediation(c: AgentConfigFile): void {
  if (c.mediator && c.mediatorInvitation !== '')
    invalid('mediatorInvitation', 'a mediator does not use a mediator of its own', c.mediatorInvitation);
  if (c.mediator && !c.inbound) invalid('inbound', 'a mediator must listen for DIDComm', c.inbound);
  if (!c.inbound && c.mediatorInvitation === '')
    invalid(
      'inbound',
      'an agent that does not listen is reachable only with a mediatorInvitation',
      c.inbound,
    );
}

/** The database URL of a configuration: SQLite paths are relative to the data directory. */
export function databaseUrl(c: Pick<AgentConfig, 'database' | 'dataDir'>): string {
  if (/^postgres(ql)?:\/\//.test(c.database) || c.database === ':memory:' || isAbsolute(c.database))
    return c.database;
  return join(c.dataDir, c.database);
}

/** What a progress line says of a database: SQLite and its file, or PostgreSQL and its host (never credentials). */
export function databaseKind(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) return `SQLite, ${url}`;
  try {
    const u = new URL(url);
    return `PostgreSQL on ${u.host}${u.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

/** A setting in whole seconds as milliseconds; unset stays unset. */
const msOf = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds * 1000);

/** The DIDComm endpoint's bounds a configuration sets (the rest take their defaults). */
export function inboundLimitsOf(c: AgentConfigFile): InboundLimitOptions {
  const rate = c.didcommSourceRate;
  return {
    maxMessageBytes: c.didcommMaxMessageBytes,
    maxConcurrentRequests: c.didcommMaxRequests,
    maxInflightBytes: c.didcommMaxInflightBytes,
    maxConnections: c.didcommMaxConnections,
    sourceRatePerSecond: rate,
    sourceBurst: rate === undefined ? undefined : 2 * rate,
    headersTimeoutMs: msOf(c.didcommHeadersTimeout),
    bodyTimeoutMs: msOf(c.didcommBodyTimeout),
  };
}

/** The webhook delivery settings a configuration sets (the rest take their defaults). */
export function webhookTuningOf(c: AgentConfigFile): {
  maxAttempts?: number;
  attemptTimeoutMs?: number;
  maxDelayMs?: number;
  maxQueued?: number;
} {
  return {
    maxAttempts: c.webhookMaxAttempts,
    attemptTimeoutMs: msOf(c.webhookTimeout),
    maxDelayMs: msOf(c.webhookMaxDelay),
    maxQueued: c.webhookMaxQueued,
  };
}

export function didcommEndpointOf(c: Pick<AgentConfig, 'didcommEndpoint' | 'didcommHost' | 'didcommPort'>) {
  return c.didcommEndpoint !== '' ? c.didcommEndpoint : `http://${c.didcommHost}:${c.didcommPort}`;
}

/** The WebSocket endpoint of a configuration; undefined where it has no WebSocket listener. */
export function didcommWsEndpointOf(
  c: Pick<AgentConfig, 'didcommWsEndpoint' | 'didcommHost' | 'didcommWsPort'>,
): string | undefined {
  if (c.didcommWsPort === 0) return undefined;
  return c.didcommWsEndpoint !== '' ? c.didcommWsEndpoint : `ws://${c.didcommHost}:${c.didcommWsPort}`;
}

export function readToken(c: Pick<AgentConfig, 'tokenFile'>): string {
  return readFileSync(c.tokenFile, 'utf8').trim();
}

export interface InitOptions {
  dataDir: string;
  label?: string;
  passphrase: string;
  /** Import this Ethereum account key (hex) instead of generating one. */
  ethKey?: string;
  overrides?: Partial<AgentConfigFile>;
  /** Key-derivation cost; tests lower it. */
  scrypt?: Partial<ScryptParams>;
  /** Progress lines, one per step (the CLI prints them on stderr). */
  log?: (line: string) => void;
}

export interface InitResult {
  dataDir: string;
  configFile: string;
  address: string;
  token: string;
}

/**
 * Creates an agent's data directory: the config file with fixed ports (a DID names its endpoint,
 * so the ports must stay), a fresh API token, the database with the key vault under the
 * passphrase, and the Ethereum account key inside that vault.
 */
export async function initAgent(o: InitOptions): Promise<InitResult> {
  if (o.passphrase === '') throw new AgentConfigError('NO_PASSPHRASE', 'the passphrase must not be empty');
  const dataDir = resolve(o.dataDir);
  const configFile = join(dataDir, CONFIG_FILE);
  if (existsSync(configFile))
    throw new AgentConfigError('ALREADY_INITIALISED', `${dataDir} already holds an agent`, { dataDir });
  const overrides = pick((o.overrides ?? {}) as Record<string, unknown>, 'the options');
  // Loaded here, not with this module, which `perun-agent start` reads before its API listens
  // (one after the other: jest's module loader fails on parallel imports that share a dependency).
  const { Wallet, isHexString } = await import('ethers');
  const { openAgentStore } = await import('../datasource.js');
  const { PerunKeyManagementService, TypeOrmKmsKeyStorage } = await import('../kms/index.js');
  if (o.ethKey !== undefined && !isHexString(o.ethKey, 32))
    invalid('ethKey', 'expected 32 bytes of hex', '…');
  const wallet = o.ethKey !== undefined ? new Wallet(o.ethKey) : Wallet.createRandom();
  const file: AgentConfigFile = {
    ...DEFAULTS,
    label: o.label ?? DEFAULTS.label,
    ...overrides,
  };
  if (file.chain !== 'embedded') file.chain = resolve(file.chain);
  if (file.didcommPort === 0) file.didcommPort = await freePort(file.didcommHost);
  if (file.apiPort === 0) file.apiPort = await freePort(file.apiHost);
  // A mediator's recipients pick up live over WebSocket where it offers one.
  if (file.mediator && file.didcommWsPort === 0) file.didcommWsPort = await freePort(file.didcommHost);
  checkMediation(file);

  const log = o.log ?? (() => undefined);
  log(`creating the agent in ${dataDir}…`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  secureDataDir(dataDir);
  const url = databaseUrl({ database: file.database, dataDir });
  prepareSqliteFile(url);
  log(`opening storage (${databaseKind(url)})…`);
  const ds = await openAgentStore(url);
  try {
    log('deriving keys from the passphrase…');
    const kms = await PerunKeyManagementService.open({
      storage: new TypeOrmKmsKeyStorage(ds),
      passphrase: o.passphrase,
      scrypt: o.scrypt,
    });
    if ((await kms.getSecret(ETHEREUM_SECRET)) !== undefined)
      throw new AgentConfigError('ALREADY_INITIALISED', 'the database already holds an agent', { dataDir });
    log(`storing the Ethereum account ${wallet.address}…`);
    await kms.putSecret(ETHEREUM_SECRET, { privateKey: wallet.privateKey });
  } finally {
    await ds.destroy();
  }
  const token = randomBytes(32).toString('base64url');
  writeFileSync(join(dataDir, TOKEN_FILE), token + '\n', { mode: 0o600 });
  chmodSync(join(dataDir, TOKEN_FILE), 0o600);
  writeFileSync(configFile, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
  secureDataDir(dataDir);
  return { dataDir, configFile, address: wallet.address, token };
}
