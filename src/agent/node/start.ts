// `perun-agent start`: the node with its chain, REST API, event stream, webhooks and web page, until
// stopped; the data directory made owner-only first (./data-dir.ts), with a warning for each fix. A configured chain file names a shared chain; 'embedded' starts a chain of this
// agent's own (and funds its account there), for trying one agent alone.
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { parseEther } from 'ethers';
import { ScopedTokenFile } from '../api/scoped-tokens.js';
import { createApiServer, listenApi } from '../api/server.js';
import { WebhookDispatcher, webhookSecret } from '../api/webhooks.js';
import { faucet, readChainFile, runChain } from './chain.js';
import { API_URL_FILE, databaseUrl, readToken, type AgentConfig } from './config.js';
import { prepareSqliteFile, secureDataDir } from './data-dir.js';
import { PerunNode } from './node.js';
import { lineLogger, type Logger } from '../log/logger.js';
import type { AgentInfo } from './types.js';
import { parseEthereumConfig } from '../../channels/ethereum/config.js';
import { readTonChainFile } from './ton-chain.js';
import { isTonChain } from './ton-node.js';

/** The chain a chain file names: TON (kind "ton") or Ethereum. */
const chainOfFile = (path: string) => readTonChainFile(path) ?? readChainFile(path);

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

export async function startAgent(
  config: AgentConfig,
  passphrase: string,
  o: {
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
  try {
    let chain;
    if (config.chain === 'embedded') {
      log('starting a chain of our own (chain: embedded)…');
      const own = await runChain({});
      stops.push(() => own.stop());
      chain = parseEthereumConfig(own.config);
    } else {
      chain = chainOfFile(resolve(config.chain));
    }
    const node = await PerunNode.start({
      config,
      passphrase,
      chain,
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
    const api = await listenApi(app, { host: config.apiHost, port: config.apiPort });
    stops.push(() => api.close());
    log(`REST API listening on ${api.url}`);
    // Where client commands find this run's API (the port may differ from config.json's).
    const urlFile = join(config.dataDir, API_URL_FILE);
    writeFileSync(urlFile, api.url + '\n', { mode: 0o600 });
    stops.push(async () => rmSync(urlFile, { force: true }));
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
