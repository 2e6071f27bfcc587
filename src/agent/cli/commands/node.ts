// The commands about the agent node itself: init and start create and run it, chain and faucet
// run and fund the development chain agents share (these four call into the node on this
// machine), and info asks a running agent who it is.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { formatAmount, parseAmount } from '../../api/amounts.js';
import {
  LOG_FORMATS,
  LOG_LEVELS,
  createLogger,
  isLogFormat,
  isLogLevel,
  type Logger,
} from '../../log/logger.js';
import type { AgentConfigFile } from '../../node/config.js';
import type { AgentInfo } from '../../node/types.js';
import { checkAddress, checkAmount, checkInteger, collect, configFlags, type Opts } from '../args.js';
import { resolveDataDir } from '../client.js';
import {
  clientCommand,
  dataDirOption,
  jsonOption,
  type ClientOpts,
  type CommandContext,
} from '../context.js';
import { infoLines, json, mediationLines, pairs, usageError } from '../output.js';
import { readPassphrase } from '../passphrase.js';
import { runSeveralChains, untilAborted } from './chains.js';

/** Options of the agent's settings shared by `init` (stored in config.json) and `start` (this run only). */
function addConfigOptions(cmd: Command): Command {
  return cmd
    .option('--label <label>', "the agent's name, shown to peers")
    .option('--database <path-or-url>', 'SQLite file (relative to the data directory) or postgres:// URL')
    .option('--didcomm-host <host>', 'interface the DIDComm listener binds to')
    .option('--didcomm-port <port>', 'DIDComm port')
    .option('--didcomm-endpoint <url>', 'the URL peers reach our DIDComm listener at')
    .option('--api-host <host>', 'interface the REST API binds to')
    .option('--api-port <port>', 'REST API port')
    .option('--chain <embedded|file>', '"embedded" or a chain file written by "perun-agent chain"')
    .option('--trusted-issuer <did>', 'accept peer credentials of this issuer DID (repeatable)', collect)
    .option('--auto-accept', 'accept verified channel proposals without asking')
    .option('--no-auto-accept', 'ask before accepting channel proposals')
    .option('--auto-accept-max-fund <eth>', 'auto-accept only proposals asking at most this much of ours')
    .option('--auto-issue-spending-limit <eth>', 'issuer role: answer credential requests with this limit')
    .option('--challenge-duration <seconds>', 'default challenge duration of new channels')
    .option('--proposals-per-minute <n>', 'channel proposals taken from one peer per minute')
    .option(
      '--reverify-after <seconds>',
      'a peer verified on a connection stays verified for new channels this long (0: verify every time)',
    )
    .option('--intermediary', 'lock collateral for virtual channels between our peers')
    .option('--webhook-url <url>', 'POST every event to this URL, signed (repeatable)', collect)
    .option('--webhook-max-attempts <n>', 'attempts per event before it is dropped (default 8)')
    .option('--webhook-timeout <seconds>', "time for a webhook receiver's answer (default 10)")
    .option('--webhook-max-delay <seconds>', 'the longest backoff between attempts (default 300)')
    .option('--webhook-max-queued <n>', "events a webhook's queue holds (default 1000)")
    .option('--didcomm-max-message-bytes <n>', 'largest DIDComm message taken (default 8 MiB)')
    .option('--didcomm-max-requests <n>', 'DIDComm requests held at once (default 256)')
    .option('--didcomm-max-inflight-bytes <n>', 'bytes of DIDComm requests held at once (default 32 MiB)')
    .option('--didcomm-max-connections <n>', 'DIDComm connections open at once (default 1024)')
    .option('--didcomm-source-rate <n>', 'DIDComm messages per second from one address (default 1000)')
    .option('--didcomm-headers-timeout <seconds>', "time for a DIDComm request's headers (default 10)")
    .option('--didcomm-body-timeout <seconds>', "time for a DIDComm request's body (default 30)")
    .option('--didcomm-ws-port <port>', 'a WebSocket DIDComm listener on this port too (0: none)')
    .option('--didcomm-ws-endpoint <url>', 'the URL peers reach our WebSocket listener at')
    .option('--inbound', 'listen for DIDComm (the default)')
    .option('--no-inbound', 'do not listen for DIDComm: reachable only through the mediator')
    .option('--mediator', 'run as a mediator: grant mediation, queue messages, serve pickup v2')
    .option(
      '--mediator-keep-days <days>',
      'mediator: days a queued message waits for its recipient (default 7)',
    )
    .option('--mediator-invitation <url>', "a mediator's invitation: be reached through it")
    .option(
      '--mediator-poll <seconds>',
      'seconds between pickups from a mediator without WebSocket (default 1)',
    )
    .addOption(
      new Option('--log-level <level>', 'least severe log entries written (default info)').choices(
        LOG_LEVELS,
      ),
    )
    .addOption(
      new Option('--log-format <format>', 'log lines as text or JSON (default text)').choices(LOG_FORMATS),
    );
}

/** The two ways to hand `init` and `start` the passphrase without a terminal. */
function passphraseOptions(cmd: Command): Command {
  return cmd
    .option(
      '--passphrase-file <path>',
      'read the passphrase from this file, mode 600 (else PERUN_PASSPHRASE, else ask)',
    )
    .option(
      '--passphrase-fd <n>',
      'read the passphrase from the first line of this file descriptor (0: stdin)',
    );
}

/** The settings flags of init and start, with the log's (given only when set). */
function settingsFlags(o: Opts, cwd: string): Partial<AgentConfigFile> {
  const flags = configFlags(o, cwd);
  if (isLogLevel(o.logLevel)) flags.logLevel = o.logLevel;
  if (isLogFormat(o.logFormat)) flags.logFormat = o.logFormat;
  return flags;
}

/** The log of init and start on stderr: their settings, else the environment's, else info as text. */
function stderrLogger(
  io: CommandContext['deps']['io'],
  s: { logLevel?: unknown; logFormat?: unknown },
  env: NodeJS.ProcessEnv,
): Logger {
  const level = [s.logLevel, env.PERUN_LOG_LEVEL].find(isLogLevel);
  const format = [s.logFormat, env.PERUN_LOG_FORMAT].find(isLogFormat);
  return createLogger({ level, format, write: (line) => io.err(`${line}\n`) });
}

export function register(program: Command, ctx: CommandContext): void {
  const { deps, progress, emit } = ctx;
  const { io, env, cwd } = deps;
  const dataDirOf = (o: Opts) => resolveDataDir(o.dataDir as string | undefined, env, cwd);

  const passphraseOf = (o: Opts, confirm: boolean) =>
    readPassphrase(
      deps,
      { file: o.passphraseFile as string | undefined, fd: o.passphraseFd as string | undefined },
      confirm,
    );

  /** `faucet` on a TON chain file: Toncoin from the chain server's development wallet; false for another chain file. */
  const tonFaucetCommand = async (chainFile: string, address: string, amountText: string, o: Opts) => {
    const { readTonChainFile, tonFaucet } = await import('../../node/ton-chain.js');
    const chain = readTonChainFile(chainFile);
    if (chain === undefined) return false;
    if (o.token !== undefined) throw usageError('INVALID_OPTION', '--token: a TON chain has no tokens');
    const amount = parseAmount(checkAmount(amountText, 'amount'), 9);
    if (amount === 0n) throw usageError('INVALID_AMOUNT', 'amount: must be more than 0');
    const { wallet, balance } = await tonFaucet({ chain, address, amount });
    const [given, has] = [formatAmount(amount, 9), formatAmount(balance, 9)];
    emit(
      o,
      { address, wallet, asset: 'TON', amount: given, balance: has },
      () => `gave ${wallet} ${given} TON: it has ${has} TON\n`,
    );
    return true;
  };

  /** `chain --ton`: the TON chain server with the Perun contract, until interrupted. */
  const runTonChainCommand = async (o: Opts, where: { host: string; port?: number; out: string }) => {
    const { runTonChain } = await import('../../node/ton-chain.js');
    const chain = await runTonChain(where);
    try {
      emit(
        o,
        { endpoint: chain.endpoint, chainFile: where.out, config: chain.config },
        () =>
          pairs([
            ['TON API', chain.endpoint],
            ['chain file', where.out],
          ]) +
          json(chain.config) +
          `agents use it with: perun-agent init --chain ${where.out}\nstop with Ctrl-C\n`,
      );
      await untilAborted(deps.interrupt);
      progress('stopping…');
    } finally {
      await chain.stop();
    }
  };

  addConfigOptions(
    passphraseOptions(
      program
        .command('init')
        .description('create an agent: data directory, config file, API token, keys under a passphrase')
        .addOption(dataDirOption()),
    )
      .option(
        '--eth-key-file <path>',
        'import the Ethereum account key (hex) from this file instead of a new one',
      )
      .addOption(jsonOption()),
  ).action(async (o: Opts) => {
    const dataDir = dataDirOf(o);
    const overrides = settingsFlags(o, cwd);
    const label = overrides.label;
    delete overrides.label;
    let ethKey: string | undefined;
    if (typeof o.ethKeyFile === 'string') {
      try {
        ethKey = readFileSync(path.resolve(cwd, o.ethKeyFile), 'utf8').trim();
      } catch (err) {
        throw usageError('ETH_KEY_FILE', `cannot read ${o.ethKeyFile}: ${(err as Error).message}`);
      }
    }
    const passphrase = await passphraseOf(o, true);
    const node = await deps.loadNode();
    const logger = stderrLogger(io, overrides, env);
    const log = (line: string) => logger.info(line);
    const r = await node.initAgent({ dataDir, label, passphrase, ethKey, overrides, log });
    const tokenFile = path.join(r.dataDir, 'api-token');
    emit(
      o,
      { dataDir: r.dataDir, configFile: r.configFile, tokenFile, address: r.address },
      () =>
        pairs([
          ['initialised', r.dataDir],
          ['address', r.address],
          ['config', r.configFile],
          ['API token', `in ${tokenFile}`],
        ]) + `next: perun-agent start --data-dir ${r.dataDir}\n`,
    );
  });

  addConfigOptions(
    passphraseOptions(
      program
        .command('start')
        .description('run the agent (DIDComm, channels, REST API, web page) until SIGINT or SIGTERM')
        .addOption(dataDirOption()),
    )
      .option(
        '--announce-starting',
        'also say when the API lists the stored channels, before the node runs (with --json: a first JSON line)',
      )
      .addOption(jsonOption()),
  ).action(async (o: Opts) => {
    const dataDir = dataDirOf(o);
    const flags = settingsFlags(o, cwd);
    const node = await deps.loadNode();
    const config = node.loadAgentConfig({ dataDir, flags, env });
    const passphrase = await passphraseOf(o, false);
    const logger = stderrLogger(io, config, env);
    const onStarting =
      o.announceStarting === true
        ? (apiUrl: string) =>
            io.out(
              o.json === true
                ? JSON.stringify({ starting: true, apiUrl, tokenFile: config.tokenFile }) + '\n'
                : `agent starting: ${apiUrl} lists the stored channels\n`,
            )
        : undefined;
    const agent = await node.startAgent(config, passphrase, { logger, onStarting });
    try {
      const web = new URL(agent.webUrl);
      web.hash = '';
      const webNoToken = web.href;
      const tokenHint = `${webNoToken} (with its token: perun-agent page)`;
      const info: AgentInfo = agent.info;
      if (o.json === true) {
        io.out(json({ apiUrl: agent.apiUrl, webUrl: webNoToken, tokenFile: config.tokenFile, info }));
        if (io.errIsTTY) progress(`web page: ${agent.webUrl}`);
      } else {
        io.out(
          `agent "${info.label}" running\n` +
            pairs([
              ['address', info.address],
              ['DID', info.did],
              ['DIDComm', info.didcommEndpoint],
              ['API', agent.apiUrl],
              ['web page', io.outIsTTY ? agent.webUrl : tokenHint],
              ...mediationLines(info.mediation),
            ]) +
            'stop with Ctrl-C\n',
        );
      }
      await untilAborted(deps.interrupt);
      logger.info('stopping…');
    } finally {
      await agent.stop();
    }
  });

  program
    .command('chain')
    .description(
      'run a development chain with the Perun contracts for agents to share, until SIGINT or SIGTERM',
    )
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--port <port>', 'JSON-RPC port (default: a free one)')
    .option('--out <file>', 'where to write the chain file that agents name with --chain', 'chain.json')
    .option('--ton', 'a TON chain (the sandbox behind a toncenter-shaped HTTP API) instead of Ethereum')
    .option('--chains <n>', 'run n chains (chain IDs 31337, 31338, …) named in one chain file', '1')
    .addOption(jsonOption())
    .action(async (o: Opts) => {
      const port = typeof o.port === 'string' ? checkInteger(o.port, 'port', 0, 65_535) : undefined;
      const out = path.resolve(cwd, o.out as string);
      if (o.ton === true) return runTonChainCommand(o, { host: o.host as string, port, out });
      const count = checkInteger(o.chains as string, 'chains', 1, 8);
      const node = await deps.loadNode();
      if (count > 1) {
        if (port !== undefined)
          throw usageError('INVALID_OPTION', '--port: not with --chains (each chain takes a free port)');
        await runSeveralChains(ctx, node, { host: o.host as string, out, count, json: o.json === true });
        return;
      }
      const chain = await node.runChain({ host: o.host as string, port, out });
      try {
        emit(
          o,
          { rpcUrl: chain.rpcUrl, chainFile: out, config: chain.config },
          () =>
            pairs([
              ['JSON-RPC', chain.rpcUrl],
              ['chain file', out],
            ]) +
            json(chain.config) +
            `agents use it with: perun-agent init --chain ${out}\nstop with Ctrl-C\n`,
        );
        await untilAborted(deps.interrupt);
        progress('stopping…');
      } finally {
        await chain.stop();
      }
    });

  program
    .command('faucet')
    .description('give an address ETH (or test tokens) on a development chain, or TON on a TON chain server')
    .argument('<address>', "Ethereum address; on a TON chain file a TON address or an agent's Ed25519 key")
    .argument('[amount]', 'ETH, or token units with --token', '10')
    .option('--chain <file>', 'chain file (default: PERUN_CHAIN if a file, else ./chain.json)')
    .option('--token <symbol-or-address>', "a token of the chain file (the dev chain's test token is PRN)")
    .option('--chain-id <id>', 'of a chain file naming several chains, the chain (default: the first)')
    .addOption(jsonOption())
    .action(async (address: string, amountText: string, o: Opts) => {
      const fromEnv = env.PERUN_CHAIN && env.PERUN_CHAIN !== 'embedded' ? env.PERUN_CHAIN : undefined;
      const chain = path.resolve(cwd, (o.chain as string | undefined) ?? fromEnv ?? 'chain.json');
      if (await tonFaucetCommand(chain, address, amountText, o)) return;
      checkAddress(address, 'address');
      const amount = parseAmount(checkAmount(amountText, 'amount'));
      if (amount === 0n) throw usageError('INVALID_AMOUNT', 'amount: must be more than 0');
      const node = await deps.loadNode();
      const token = o.token as string | undefined;
      const chainId =
        typeof o.chainId === 'string'
          ? BigInt(checkInteger(o.chainId, 'chain-id', 1, 2 ** 53 - 1))
          : undefined;
      const balance = await node.faucet({ chain, address, amount, token, chainId });
      const unit = token ?? 'ETH';
      emit(
        o,
        { address, asset: unit, amount: formatAmount(amount), balance: formatAmount(balance) },
        () => `gave ${address} ${formatAmount(amount)} ${unit}: it has ${formatAmount(balance)} ${unit}\n`,
      );
    });

  clientCommand(program, 'info', "the agent's identity, address and chain").action(async (o: ClientOpts) => {
    const info = await ctx.client(o).request<AgentInfo>('GET', '/info');
    emit(o, info, () => infoLines(info));
  });

  clientCommand(
    program,
    'page',
    "the web page's URL with the API token in it: open it to be signed in",
  ).action(async (o: ClientOpts) => {
    const client = ctx.client(o);
    // The token is checked first, so that the URL printed opens a page that works.
    await client.request<AgentInfo>('GET', '/info');
    const url = `${client.endpoint.url}/#token=${encodeURIComponent(client.endpoint.token ?? '')}`;
    emit(o, { url }, () => `${url}\n`);
  });
}
