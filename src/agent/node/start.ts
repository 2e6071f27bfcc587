// `perun-agent start`: the node with its chain, REST API, event stream, webhooks and web page, until
// stopped; the data directory made owner-only first (./data-dir.ts), with a warning for each fix. A
// configured chain file names a shared chain (or several: the node connects to each, ./ledgers.ts);
// 'embedded' starts a chain of this agent's own (and funds its account there), for trying one agent
// alone. The REST listener comes up first with the stored channels (./starting-api.ts), before the
// node's modules (Credo, TypeORM, ethers, the chain) are even loaded; the node's API takes the same
// listener over once it runs.
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ScopedTokenFile } from '../api/scoped-tokens.js';
import { createApiServer, listenApi } from '../api/server.js';
import { WebhookDispatcher, webhookSecret } from '../api/webhooks.js';
import { API_URL_FILE, databaseUrl, readToken, webhookTuningOf, type AgentConfig } from './config.js';
import { prepareSqliteFile, secureDataDir } from './data-dir.js';
import type { PerunNode } from './node.js';
import { lineLogger, type Logger } from '../log/logger.js';
import { loadInSteps } from './load-in-steps.js';
import { listenStarting } from './starting-api.js';
import { startGate } from './test-knobs.js';
import type { AgentInfo } from './types.js';
import type { EthereumConfig } from '../../channels/ethereum/config.js';
import type { TonChainConfig } from '../../channels/ton/config.js';

export interface RunningAgent {
  info: AgentInfo;
  node: PerunNode;
  apiUrl: string;
  /** The web page with the API token in the fragment (never sent to the server). */
  webUrl: string;
  stop(): Promise<void>;
}

/** The web page's files: src/agent/web beside the sources, also when running from dist/. */
export function webRoot(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '../web'), resolve(here, '../../../../src/agent/web')]) {
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  }
  return undefined;
}

/** The JSON of `config`'s chain file, read once for the starting view and the node; undefined without one. */
function readChainJson(config: AgentConfig): unknown {
  if (config.chain === 'embedded') return undefined;
  try {
    return JSON.parse(readFileSync(resolve(config.chain), 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export async function startAgent(
  config: AgentConfig,
  passphrase: string,
  o: {
    /** Called once the API lists the stored channels while the node starts (not called without that view). */
    onStarting?: (apiUrl: string) => void;
    /** Plain lines at info and above, when no `logger` is given. */
    log?: (line: string) => void;
    /** The agent's log: progress, the node's lines, Credo's, the API's. */
    logger?: Logger;
    chainPollMs?: number;
    timeoutMs?: number;
  } = {},
): Promise<RunningAgent> {
  const logger = o.logger ?? lineLogger(o.log);
  const log = (line: string) => logger.info(line);
  const secure = () => {
    for (const line of secureDataDir(config.dataDir))
      logger.warn(`warning: the data directory was open to others: ${line}`);
  };
  secure();
  prepareSqliteFile(databaseUrl(config));
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  /** Where client commands find this run's API (the port may differ from config.json's). */
  const publishUrl = (url: string) => {
    const urlFile = join(config.dataDir, API_URL_FILE);
    writeFileSync(urlFile, url + '\n', { mode: 0o600 });
    stops.push(async () => rmSync(urlFile, { force: true }));
  };
  try {
    const chainJson = readChainJson(config);
    const starting = await listenStarting(config, chainJson, logger);
    const early = starting?.api;
    if (early !== undefined) {
      stops.push(() => early.close());
      publishUrl(early.url);
      o.onStarting?.(early.url);
    }
    await startGate();
    // The node's modules, once the API lists the stored channels: while it does, the heavy
    // packages one at a time, so that its requests are answered between them; then the node's
    // modules one after the other (jest's module loader fails on parallel imports that share a
    // dependency).
    if (starting !== undefined) await loadInSteps(() => starting.inFlight.idle());
    const { PerunNode } = await import('./node.js');
    await starting?.inFlight.idle();
    const { faucet, runChain } = await import('./chain.js');
    const { parseChainSet, readChainSet } = await import('./chains.js');
    const { parseEthereumConfig } = await import('../../channels/ethereum/config.js');
    const { parseEther } = await import('ethers');
    const { isTonChainJson, parseTonConfig } = await import('../../channels/ton/config.js');
    const { isTonChain } = await import('./ton-node.js');
    // One TON chain, or one or several Ethereum chains (the primary first).
    let chains: [TonChainConfig] | EthereumConfig[];
    if (config.chain === 'embedded') {
      log('starting a chain of our own (chain: embedded)…');
      const own = await runChain({});
      stops.push(() => own.stop());
      chains = [parseEthereumConfig(own.config)];
    } else {
      // The chain file as read for the starting view; read again only to report why it cannot be.
      if (chainJson === undefined) chains = readChainSet(resolve(config.chain));
      else chains = isTonChainJson(chainJson) ? [parseTonConfig(chainJson)] : parseChainSet(chainJson);
    }
    const chain = chains[0]!;
    const node = await PerunNode.start({
      config,
      passphrase,
      chain,
      chains: isTonChain(chain) ? undefined : (chains as EthereumConfig[]),
      logger,
      chainPollMs: o.chainPollMs,
      timeoutMs: o.timeoutMs,
    });
    stops.push(() => node.stop());
    if (config.chain === 'embedded' && !isTonChain(chain))
      await faucet({ chain, address: node.signer.address, amount: parseEther('100') });
    if (config.webhookUrls.length > 0) {
      const { secret, file } = webhookSecret(config.dataDir);
      const webhooks = new WebhookDispatcher(node, {
        urls: config.webhookUrls,
        secret,
        ...webhookTuningOf(config),
        log: (line) => logger.warn(line),
      });
      webhooks.start();
      stops.push(async () => {
        const dropped = await webhooks.stop();
        if (dropped > 0) log(`webhooks: ${dropped} undelivered events dropped at stop`);
      });
      log(
        `webhooks: posting events to ${config.webhookUrls.length} URL(s), signed with the secret in ${file}`,
      );
    }
    const token = readToken(config);
    const app = createApiServer(node, {
      token,
      scopedTokens: new ScopedTokenFile(config.dataDir),
      webRoot: webRoot(),
      log,
    });
    let api = early;
    if (api === undefined) {
      api = await listenApi(app, { host: config.apiHost, port: config.apiPort });
      publishUrl(api.url);
    } else api.serve(app);
    const listener = api;
    // The API closes first (close is idempotent), as it always has, then the node.
    stops.push(() => listener.close());
    log(`REST API listening on ${api.url}`);
    secure();
    return {
      info: node.info(),
      node,
      apiUrl: api.url,
      webUrl: `${api.url}/#token=${encodeURIComponent(token)}`,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
