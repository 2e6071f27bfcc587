// The API while the node starts (`perun-agent start` on a SQLite file with a chain file): the
// REST listener comes up first, before Credo, TypeORM, ethers and the chain are loaded, and lists
// the stored channels (./stored-channels.ts), read once by a worker thread while the node's
// modules load on this one (a request waits for that read): GET /channels and GET /channels/:id
// answer, every channel `synced: false`; every other route answers 503 NODE_STARTING with
// Retry-After: 1, GET /info included (it answers 200 once the node is up: the agent's health
// check). The same listener then serves the full node's API (start.ts).
import { existsSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { Worker } from 'node:worker_threads';
import express from 'express';
import { ApiRequestError } from '../api/api-error.js';
import { ScopedTokenFile } from '../api/scoped-tokens.js';
import { createApiServer, listenApi, type ApiListener } from '../api/server.js';
import type { Logger } from '../log/logger.js';
import { databaseUrl, readToken, type AgentConfig } from './config.js';
import { countStoredChannels, ethHoldersOf, readStoredChannels } from './stored-channels.js';
import type { AgentNodeApi, ChannelView } from './types.js';

export const NODE_STARTING = 'NODE_STARTING';
/** Retry-After of a route that waits for the node, seconds. */
export const NODE_STARTING_RETRY_AFTER_S = 1;

function starting(): never {
  throw new ApiRequestError(
    503,
    NODE_STARTING,
    'the agent is starting: until it runs only GET /channels and GET /channels/:id answer, from its store',
    {},
    NODE_STARTING_RETRY_AFTER_S,
  );
}

/** Where the starting view's channels come from: the store's file, and its listing once read. */
export interface StartingSource {
  file: string;
  ethHolders: ReadonlySet<string>;
  /** The listing a worker read (./stored-channels-worker.ts); without it, read on each request. */
  read?: { views: ChannelView[]; byId: Map<string, ChannelView> };
}

/**
 * A node that lists the channels of `store` and refuses everything else with NODE_STARTING (a
 * channel it does not list too: it may be one the store view leaves out).
 */
export function startingNode(store: StartingSource): AgentNodeApi {
  const served: Partial<AgentNodeApi> = {
    channels: () => store.read?.views ?? readStoredChannels(store.file, store.ethHolders),
    channel: (id) =>
      (store.read === undefined
        ? readStoredChannels(store.file, store.ethHolders, id)[0]
        : store.read.byId.get(id.toLowerCase())) ?? starting(),
  };
  // Every other method of the node API refuses.
  return new Proxy(served as AgentNodeApi, {
    get: (target, key) => (Reflect.get(target, key) as unknown) ?? starting,
  });
}

/**
 * The SQLite file of `config` and the ETH holders its chain file (`chainJson`, as read) names, if
 * the store can be listed early.
 */
function earlySource(
  config: AgentConfig,
  chainJson: unknown,
): { file: string; ethHolders: Set<string> } | undefined {
  const file = databaseUrl(config);
  if (config.chain === 'embedded' || /^postgres(ql)?:\/\//.test(file) || file === ':memory:')
    return undefined;
  const ethHolders = ethHoldersOf(chainJson);
  // A TON chain file names no ETH holder: its channels wait for the node.
  return ethHolders.size === 0 || !existsSync(file) ? undefined : { file, ethHolders };
}

/** The requests a listener is answering, and a wait until it answers none. */
export class RequestsInFlight {
  #count = 0;
  #waiting: (() => void)[] = [];

  /** Counts `res`'s request until its response is sent or its connection closes. */
  track(res: ServerResponse): void {
    this.#count++;
    res.once('close', () => {
      if (--this.#count > 0) return;
      for (const wake of this.#waiting.splice(0)) wake();
    });
  }

  /** Resolves once no request is being answered. */
  idle(): Promise<void> {
    return this.#count === 0 ? Promise.resolve() : new Promise((resolve) => this.#waiting.push(resolve));
  }
}

/**
 * Reads the listing of `source` in a worker thread, on another core than the node's loading;
 * resolves once `source.read` holds it, or it cannot be read there (then it is read on request).
 */
function readInWorker(source: StartingSource, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./stored-channels-worker.js', import.meta.url), {
      workerData: { file: source.file, ethHolders: [...source.ethHolders] },
    });
    worker.once('message', (views: ChannelView[]) => {
      source.read = { views, byId: new Map(views.map((v) => [v.id.toLowerCase(), v])) };
      resolve();
    });
    worker.once('error', (err) => {
      logger.debug(`the stored channels are read on request: ${err.message}`);
      resolve();
    });
    worker.once('exit', () => resolve());
  });
}

/**
 * `app` behind a first handler that holds each request until `ready` (the listing is read), then
 * counts it in `inFlight`.
 */
function counted(app: express.Express, ready: Promise<void>, inFlight: RequestsInFlight): express.Express {
  const outer = express();
  outer.disable('x-powered-by');
  outer.use(async (_req, res, next) => {
    await ready;
    inFlight.track(res);
    next();
  });
  outer.use(app);
  return outer;
}

/**
 * Listens with the starting view of `config`'s store, or undefined where there is none (a
 * Postgres store, an embedded chain, a TON chain, a store the node has not created yet or cannot
 * be read). `chainJson`: the chain file's JSON, read once by the caller. `inFlight`: the requests
 * it is answering, which the node's loading lets go first.
 */
export async function listenStarting(
  config: AgentConfig,
  chainJson: unknown,
  logger: Logger,
): Promise<{ api: ApiListener; inFlight: RequestsInFlight } | undefined> {
  let source: StartingSource | undefined;
  let stored: number;
  try {
    source = earlySource(config, chainJson);
    if (source === undefined) return undefined;
    stored = countStoredChannels(source.file);
  } catch (err) {
    logger.debug(`no channel listing while starting: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  const app = createApiServer(startingNode(source), {
    token: readToken(config),
    scopedTokens: new ScopedTokenFile(config.dataDir),
    log: (line) => logger.info(line),
  });
  const inFlight = new RequestsInFlight();
  const ready = readInWorker(source, logger);
  const api = await listenApi(counted(app, ready, inFlight), { host: config.apiHost, port: config.apiPort });
  logger.info(`REST API listening on ${api.url} (starting: ${stored} stored channels listed)`);
  return { api, inFlight };
}
