// The `perun-agent` command line as a commander program: the local commands (init, start, chain,
// faucet) that call into the node, and the client commands that talk to a running agent's REST
// API. Everything the program touches outside itself (output streams, environment, fetch, the
// node's functions, signals) comes in as CliDeps, so tests run it in-process.
//
// Exit codes: 0 ok, 1 internal or unknown, 2 usage or invalid input (API category "client"),
// 3 cannot reach the agent, 4 peer refused or unreachable (categories "peer", "protocol"),
// 5 chain error, 6 not found, 7 unauthorized, 130 interrupted before the agent answered.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { formatAmount, parseAmount } from '../api/amounts.js';
import type { AgentConfigFile, initAgent, loadAgentConfig } from '../node/config.js';
import type { faucet, runChain } from '../node/chain.js';
import type { startAgent } from '../node/start.js';
import type {
  AgentInfo,
  BalanceView,
  ChannelView,
  ConnectionView,
  CredentialView,
  InvitationView,
  IssueCredentialRequest,
  MessageView,
  NodeEventWithId,
  OpenChannelRequest,
  OpenSubChannelRequest,
  OpenVirtualChannelRequest,
  PaymentView,
  ProposalView,
  SettlementView,
} from '../node/types.js';
import { ApiClient, nodeFetch, resolveDataDir, resolveEndpoint } from './client.js';
import {
  CliError,
  EXIT,
  EXIT_CODES_HELP,
  balanceLines,
  channelLine,
  channelsTable,
  connectionLine,
  connectionsTable,
  credentialLine,
  credentialsTable,
  eventLine,
  eventText,
  formatError,
  fromLocalError,
  infoLines,
  json,
  messageLine,
  messagesTable,
  pairs,
  paymentLine,
  paymentsTable,
  proposalLine,
  proposalsTable,
  settlementLine,
  usageError,
} from './output.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  outIsTTY: boolean;
  errIsTTY: boolean;
  /** Reads a line from the terminal without echo; undefined when there is no terminal. */
  promptSecret: ((question: string) => Promise<string>) | undefined;
}

/** What the local commands call in the node (loaded on first use: client commands stay light). */
export interface NodeFunctions {
  initAgent: typeof initAgent;
  loadAgentConfig: typeof loadAgentConfig;
  startAgent: typeof startAgent;
  runChain: typeof runChain;
  faucet: typeof faucet;
}

export interface CliDeps {
  io: CliIo;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Default: nodeFetch (no response timeout). */
  fetch?: typeof fetch;
  /** Aborted on SIGINT/SIGTERM: ends start, chain and events, interrupts waiting requests. */
  interrupt: AbortSignal;
  loadNode: () => Promise<NodeFunctions>;
  version?: string;
  /** First delay before `events` reconnects (ms); doubles per failed attempt. */
  reconnectDelayMs?: number;
}

const ENV_HELP = `Environment:
  PERUN_DATA_DIR      data directory (default ./.perun-agent)
  PERUN_PASSPHRASE    passphrase of the agent's keys (init, start)
  PERUN_API_URL       API URL of a running agent (client commands)
  PERUN_API_TOKEN     API token of a running agent (client commands)
  PERUN_LABEL, PERUN_DATABASE, PERUN_DIDCOMM_HOST, PERUN_DIDCOMM_PORT, PERUN_DIDCOMM_ENDPOINT,
  PERUN_API_HOST, PERUN_API_PORT, PERUN_CHAIN, PERUN_TRUSTED_ISSUERS (comma-separated),
  PERUN_AUTO_ACCEPT, PERUN_AUTO_ACCEPT_MAX_FUND, PERUN_AUTO_ISSUE_SPENDING_LIMIT,
  PERUN_CHALLENGE_DURATION    agent settings (start); config.json < environment < flags

Client commands find the agent by --api-url/--token, else PERUN_API_URL/PERUN_API_TOKEN, else
the data directory's config.json (apiHost, apiPort) and api-token. Channel, connection and
proposal arguments may be unique prefixes of their IDs.`;

type Opts = Record<string, unknown>;

interface ClientOpts {
  json?: boolean;
  apiUrl?: string;
  token?: string;
  dataDir?: string;
}

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** The amount text, trimmed, if parseAmount takes it; a usage error naming `what` otherwise. */
function checkAmount(text: string, what: string): string {
  try {
    parseAmount(text);
  } catch (err) {
    const e = fromLocalError(err);
    throw usageError('INVALID_AMOUNT', `${what}: ${e.message} ("${text}")`, { [what]: text });
  }
  return text.trim();
}

/** An ISO 8601 date as the API takes it; a usage error naming `what` otherwise. */
function isoDate(text: string, what: string): string {
  const t = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(t)) {
    throw usageError('INVALID_DATE', `${what}: expected an ISO 8601 date such as 2030-01-31T00:00:00Z`, {
      [what]: text,
    });
  }
  return new Date(t).toISOString();
}

function checkInteger(text: string, what: string, min: number, max: number): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw usageError(
      'INVALID_ARGUMENT',
      `${what}: expected a whole number from ${min} to ${max} ("${text}")`,
      {
        [what]: text,
      },
    );
  }
  return n;
}

function checkAddress(text: string, what: string): string {
  if (!ADDRESS_RE.test(text)) {
    throw usageError('INVALID_ADDRESS', `${what}: expected an Ethereum address (0x and 40 hex digits)`, {
      [what]: text,
    });
  }
  return text;
}

/** Resolves when `signal` aborts, keeping the process alive until then (a chain's child process may not). */
const untilAborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const keepAlive = setInterval(() => undefined, 1 << 30);
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(keepAlive);
        resolve();
      },
      { once: true },
    );
  });

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
    .option('--intermediary', 'lock collateral for virtual channels between our peers');
}

const MAX_SECONDS = 10 * 365 * 24 * 3600;

/** The settings given as flags, checked, in AgentConfigFile's shape (absent flags are absent). */
function configFlags(o: Opts, cwd: string): Partial<AgentConfigFile> {
  const f: Record<string, unknown> = {};
  const given = (k: string): k is string => typeof o[k] === 'string';
  const flag = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  for (const k of ['label', 'database', 'didcommHost', 'didcommEndpoint', 'apiHost'])
    if (given(k)) f[k] = o[k];
  for (const k of ['didcommPort', 'apiPort'])
    if (given(k)) f[k] = checkInteger(o[k] as string, flag(k), 0, 65_535);
  for (const k of ['autoAcceptMaxFund', 'autoIssueSpendingLimit']) {
    if (given(k))
      f[k] = o[k] === '' && k === 'autoIssueSpendingLimit' ? '' : checkAmount(o[k] as string, flag(k));
  }
  if (given('challengeDuration'))
    f.challengeDuration = checkInteger(o.challengeDuration as string, 'challenge-duration', 1, MAX_SECONDS);
  if (given('proposalsPerMinute'))
    f.proposalsPerMinute = checkInteger(o.proposalsPerMinute as string, 'proposals-per-minute', 1, 1_000_000);
  if (given('chain')) f.chain = o.chain === 'embedded' ? o.chain : path.resolve(cwd, o.chain as string);
  if (Array.isArray(o.trustedIssuer)) f.trustedIssuers = o.trustedIssuer;
  if (typeof o.autoAccept === 'boolean') f.autoAccept = o.autoAccept;
  if (o.intermediary === true) f.intermediary = true;
  return f as Partial<AgentConfigFile>;
}

/** The commander program; `ctx.json` tells the caller whether the running command prints JSON. */
export function buildProgram(deps: CliDeps, ctx: { json: boolean } = { json: false }): Command {
  const { io, env, cwd } = deps;
  const fetchFn = deps.fetch ?? nodeFetch;
  const progress = (line: string) => io.err(`${line}\n`);
  const emit = (opts: { json?: boolean }, value: unknown, human: () => string) =>
    io.out(opts.json === true ? json(value) : human());
  const dataDirOf = (o: Opts) => resolveDataDir(o.dataDir as string | undefined, env, cwd);

  async function readPassphrase(file: string | undefined, confirm: boolean): Promise<string> {
    let passphrase: string;
    if (file !== undefined) {
      try {
        passphrase = readFileSync(path.resolve(cwd, file), 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        throw usageError(
          'PASSPHRASE_FILE',
          `cannot read the passphrase file ${file}: ${(err as Error).message}`,
        );
      }
    } else if (env.PERUN_PASSPHRASE) {
      passphrase = env.PERUN_PASSPHRASE;
    } else if (io.promptSecret !== undefined) {
      passphrase = await io.promptSecret('Passphrase: ');
      if (confirm && passphrase !== '' && (await io.promptSecret('Repeat the passphrase: ')) !== passphrase) {
        throw usageError('PASSPHRASE_MISMATCH', 'the passphrases differ');
      }
    } else {
      throw usageError(
        'NO_PASSPHRASE',
        'no passphrase: give --passphrase-file <path> or PERUN_PASSPHRASE, or run on a terminal to be asked',
      );
    }
    if (passphrase === '') throw usageError('NO_PASSPHRASE', 'the passphrase must not be empty');
    return passphrase;
  }

  const program = new Command('perun-agent')
    .description(
      'Perun state channels between self-sovereign identities over DIDComm. ' +
        'init and start run an agent; the other commands talk to a running agent.',
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `\n${ENV_HELP}`)
    .addHelpText('afterAll', `\n${EXIT_CODES_HELP}\n`)
    .hook('preAction', (_, action) => {
      ctx.json = action.opts().json === true;
    });
  if (deps.version !== undefined) program.version(deps.version);

  const dataDirOption = () =>
    new Option('--data-dir <dir>', 'data directory (default: PERUN_DATA_DIR, else ./.perun-agent)');
  const jsonOption = () => new Option('--json', 'print one JSON value instead of text');

  function clientCommand(name: string, description: string): Command {
    return program
      .command(name)
      .description(description)
      .addOption(jsonOption())
      .option('--api-url <url>', "the agent's API URL (default: PERUN_API_URL, else from the data directory)")
      .option('--token <token>', 'API token (default: PERUN_API_TOKEN, else <data dir>/api-token)')
      .addOption(dataDirOption());
  }

  const client = (o: ClientOpts) => new ApiClient(resolveEndpoint(o, env, cwd), fetchFn, deps.interrupt);

  /** The one ID in `list` that `arg` names exactly or as a unique prefix. */
  async function resolveId(
    kind: 'channel' | 'connection' | 'proposal',
    arg: string,
    list: () => Promise<{ id: string }[]>,
  ): Promise<string> {
    const norm = (s: string) => s.toLowerCase().replace(/^0x/, '');
    const wanted = norm(arg.trim());
    if (wanted === '') throw usageError('INVALID_ARGUMENT', `empty ${kind} ID`);
    const ids = (await list()).map((x) => x.id);
    const exact = ids.find((id) => norm(id) === wanted);
    if (exact !== undefined) return exact;
    const matches = ids.filter((id) => norm(id).startsWith(wanted));
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) {
      throw new CliError(EXIT.NOT_FOUND, 'client', `UNKNOWN_${kind.toUpperCase()}`, `no ${kind} "${arg}"`, {
        [kind]: arg,
      });
    }
    throw usageError(
      'AMBIGUOUS_ID',
      `"${arg}" matches ${matches.length} ${kind}s (${matches.join(', ')}); give more of the ID`,
      { [kind]: arg, matches },
    );
  }

  const channelId = (api: ApiClient, arg: string) =>
    resolveId('channel', arg, () => api.request<ChannelView[]>('GET', '/channels'));
  const connectionId = (api: ApiClient, arg: string) =>
    resolveId('connection', arg, () => api.request<ConnectionView[]>('GET', '/connections'));
  const proposalId = (api: ApiClient, arg: string) =>
    resolveId('proposal', arg, () => api.request<ProposalView[]>('GET', '/proposals'));
  const enc = encodeURIComponent;

  /** Runs `work` while printing the channel's phase changes and dispute events from /events on stderr. */
  async function withChannelProgress<T>(api: ApiClient, id: string, work: () => Promise<T>): Promise<T> {
    const stop = new AbortController();
    const onInterrupt = () => stop.abort();
    deps.interrupt.addEventListener('abort', onInterrupt, { once: true });
    const follow = (async () => {
      try {
        for await (const e of api.events({ signal: stop.signal, reconnectDelayMs: deps.reconnectDelayMs })) {
          const about = 'channelId' in e ? e.channelId : undefined;
          if (about === id && (e.type === 'channel-phase' || e.type === 'dispute' || e.type === 'warning')) {
            progress(eventText(e));
          }
        }
      } catch {
        // The stream is a courtesy; the request itself reports what went wrong.
      }
    })();
    try {
      return await work();
    } finally {
      stop.abort();
      deps.interrupt.removeEventListener('abort', onInterrupt);
      await follow;
    }
  }

  // ---- local commands --------------------------------------------------------------------

  addConfigOptions(
    program
      .command('init')
      .description('create an agent: data directory, config file, API token, keys under a passphrase')
      .addOption(dataDirOption())
      .option(
        '--passphrase-file <path>',
        'read the passphrase from this file (else PERUN_PASSPHRASE, else ask)',
      )
      .option(
        '--eth-key-file <path>',
        'import the Ethereum account key (hex) from this file instead of a new one',
      )
      .addOption(jsonOption()),
  ).action(async (o: Opts) => {
    const dataDir = dataDirOf(o);
    const overrides = configFlags(o, cwd);
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
    const passphrase = await readPassphrase(o.passphraseFile as string | undefined, true);
    const node = await deps.loadNode();
    const r = await node.initAgent({ dataDir, label, passphrase, ethKey, overrides });
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
    program
      .command('start')
      .description('run the agent (DIDComm, channels, REST API, web page) until SIGINT or SIGTERM')
      .addOption(dataDirOption())
      .option(
        '--passphrase-file <path>',
        'read the passphrase from this file (else PERUN_PASSPHRASE, else ask)',
      )
      .addOption(jsonOption()),
  ).action(async (o: Opts) => {
    const dataDir = dataDirOf(o);
    const flags = configFlags(o, cwd);
    const node = await deps.loadNode();
    const config = node.loadAgentConfig({ dataDir, flags, env });
    const passphrase = await readPassphrase(o.passphraseFile as string | undefined, false);
    const agent = await node.startAgent(config, passphrase, { log: (line) => progress(line) });
    try {
      const web = new URL(agent.webUrl);
      web.hash = '';
      const webNoToken = web.href;
      const tokenHint = `${webNoToken} (add #token=<the token in ${config.tokenFile}>)`;
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
            ]) +
            'stop with Ctrl-C\n',
        );
      }
      await untilAborted(deps.interrupt);
      progress('stopping…');
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
    .addOption(jsonOption())
    .action(async (o: Opts) => {
      const port = typeof o.port === 'string' ? checkInteger(o.port, 'port', 0, 65_535) : undefined;
      const out = path.resolve(cwd, o.out as string);
      const node = await deps.loadNode();
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
    .description('give an address ETH (or test tokens) on a development chain')
    .argument('<address>', 'Ethereum address')
    .argument('[amount]', 'ETH, or token units with --token', '10')
    .option('--chain <file>', 'chain file (default: PERUN_CHAIN if a file, else ./chain.json)')
    .option('--token <symbol-or-address>', "a token of the chain file (the dev chain's test token is PRN)")
    .addOption(jsonOption())
    .action(async (address: string, amountText: string, o: Opts) => {
      checkAddress(address, 'address');
      const amount = parseAmount(checkAmount(amountText, 'amount'));
      if (amount === 0n) throw usageError('INVALID_AMOUNT', 'amount: must be more than 0');
      const fromEnv = env.PERUN_CHAIN && env.PERUN_CHAIN !== 'embedded' ? env.PERUN_CHAIN : undefined;
      const chain = path.resolve(cwd, (o.chain as string | undefined) ?? fromEnv ?? 'chain.json');
      const node = await deps.loadNode();
      const token = o.token as string | undefined;
      const balance = await node.faucet({ chain, address, amount, token });
      const unit = token ?? 'ETH';
      emit(
        o,
        { address, asset: unit, amount: formatAmount(amount), balance: formatAmount(balance) },
        () => `gave ${address} ${formatAmount(amount)} ${unit}: it has ${formatAmount(balance)} ${unit}\n`,
      );
    });

  // ---- client commands -------------------------------------------------------------------

  clientCommand('info', "the agent's identity, address and chain").action(async (o: ClientOpts) => {
    const info = await client(o).request<AgentInfo>('GET', '/info');
    emit(o, info, () => infoLines(info));
  });

  clientCommand('invite', 'create an invitation for a peer (prints its URL)').action(
    async (o: ClientOpts) => {
      const inv = await client(o).request<InvitationView>('POST', '/invitations');
      emit(o, inv, () => `${inv.url}\n`);
      if (o.json !== true) progress(`give the peer this URL: perun-agent accept-invitation '<url>'`);
    },
  );

  clientCommand('accept-invitation', "connect to a peer by its invitation URL; waits until it's ready")
    .argument('<url>', 'the invitation URL (from the peer\'s "perun-agent invite")')
    .action(async (url: string, o: ClientOpts) => {
      try {
        new URL(url);
      } catch {
        throw usageError('INVALID_ARGUMENT', 'not an invitation URL', { url });
      }
      const api = client(o);
      progress('connecting…');
      const c = await api.request<ConnectionView>('POST', '/connections', { invitationUrl: url });
      emit(o, c, () => `${connectionLine(c)}\n`);
    });

  clientCommand('connections', 'list DIDComm connections').action(async (o: ClientOpts) => {
    const list = await client(o).request<ConnectionView[]>('GET', '/connections');
    emit(o, list, () => connectionsTable(list));
  });

  clientCommand('credentials', 'list the credentials we hold and issued').action(async (o: ClientOpts) => {
    const list = await client(o).request<CredentialView[]>('GET', '/credentials');
    emit(o, list, () => credentialsTable(list));
  });

  clientCommand('issue-credential', 'issuer role: issue a peer credential to the holder on a connection')
    .argument('<connection>', 'connection ID or unique prefix')
    .requiredOption('--name <name>', "the holder's name")
    .requiredOption('--spending-limit <eth>', 'spending limit claim, ETH')
    .option('--address <0x…>', "the holder's Ethereum address (default: the one it proves control of)")
    .option('--expires <iso-date>', 'expiration date (ISO 8601; default: none)')
    .action(
      async (
        conn: string,
        o: ClientOpts & { name: string; spendingLimit: string; address?: string; expires?: string },
      ) => {
        const req: Omit<IssueCredentialRequest, 'connectionId'> = {
          name: o.name,
          spendingLimit: checkAmount(o.spendingLimit, 'spending-limit'),
        };
        if (o.address !== undefined) req.ethereumAddress = checkAddress(o.address, 'address');
        if (o.expires !== undefined) req.expirationDate = isoDate(o.expires, 'expires');
        const api = client(o);
        const connectionIdValue = await connectionId(api, conn);
        progress('issuing; waiting for the holder…');
        const c = await api.request<CredentialView>('POST', '/credentials/issue', {
          connectionId: connectionIdValue,
          ...req,
        });
        emit(o, c, () => `issued ${credentialLine(c)}\n`);
      },
    );

  clientCommand(
    'sign-credential',
    'issuer role: sign a peer credential for a holder to import (printed as JSON)',
  )
    .argument('<subject>', "the holder's DID (its `info` shows it)")
    .requiredOption('--name <name>', "the holder's name")
    .requiredOption('--spending-limit <eth>', 'spending limit claim, ETH')
    .requiredOption('--address <0x…>', "the holder's Ethereum address")
    .option('--issued <iso-date>', 'issuance date (ISO 8601; default: now)')
    .option('--expires <iso-date>', 'expiration date (ISO 8601; default: none)')
    .action(
      async (
        subject: string,
        o: ClientOpts & {
          name: string;
          spendingLimit: string;
          address: string;
          issued?: string;
          expires?: string;
        },
      ) => {
        const body: Record<string, string> = {
          subject,
          name: o.name,
          spendingLimit: checkAmount(o.spendingLimit, 'spending-limit'),
          ethereumAddress: checkAddress(o.address, 'address'),
        };
        if (o.issued !== undefined) body['issuanceDate'] = isoDate(o.issued, 'issued');
        if (o.expires !== undefined) body['expirationDate'] = isoDate(o.expires, 'expires');
        const signed = await client(o).request<{ credential: string }>('POST', '/credentials/sign', body);
        emit(o, signed, () => `${signed.credential}\n`);
      },
    );

  clientCommand(
    'import-credential',
    'holder role: store a peer credential signed for us (a JSON file, or - for stdin)',
  )
    .argument('<file>', 'the credential as printed by sign-credential')
    .action(async (file: string, o: ClientOpts) => {
      let text: string;
      try {
        text = readFileSync(file === '-' ? 0 : path.resolve(cwd, file), 'utf8');
      } catch (err) {
        throw usageError('INVALID_ARGUMENT', `cannot read ${file}`, { error: String(err) });
      }
      const c = await client(o).request<CredentialView>('POST', '/credentials/import', {
        credential: text.trim(),
      });
      emit(o, c, () => `imported ${credentialLine(c)}\n`);
    });

  clientCommand('request-credential', 'holder role: ask the issuer on a connection for a peer credential')
    .argument('<connection>', 'connection ID or unique prefix')
    .requiredOption('--name <name>', 'the name to claim')
    .action(async (conn: string, o: ClientOpts & { name: string }) => {
      const api = client(o);
      const id = await connectionId(api, conn);
      progress('waiting for the issuer…');
      const c = await api.request<CredentialView>('POST', '/credentials/request', {
        connectionId: id,
        name: o.name,
      });
      emit(o, c, () => `received ${credentialLine(c)}\n`);
    });

  clientCommand('channels', 'list channels').action(async (o: ClientOpts) => {
    const list = await client(o).request<ChannelView[]>('GET', '/channels');
    emit(o, list, () => channelsTable(list));
  });

  clientCommand('open', "open a channel with the peer on a connection (checks the peer's credential first)")
    .argument('<connection>', 'connection ID or unique prefix')
    .requiredOption('--fund <eth>', 'what we put in, ETH')
    .option('--peer-fund <eth>', 'what the peer puts in, ETH (default 0)')
    .option('--asset <asset>', 'the asset', 'ETH')
    .option('--challenge-duration <seconds>', "seconds to answer a dispute (default: the agent's setting)")
    .action(
      async (
        conn: string,
        o: ClientOpts & { fund: string; peerFund?: string; asset: string; challengeDuration?: string },
      ) => {
        const req: Omit<OpenChannelRequest, 'connectionId'> = { fund: checkAmount(o.fund, 'fund') };
        if (o.peerFund !== undefined) req.peerFund = checkAmount(o.peerFund, 'peer-fund');
        if (o.asset !== 'ETH') req.asset = o.asset;
        if (o.challengeDuration !== undefined) {
          req.challengeDuration = checkInteger(o.challengeDuration, 'challenge-duration', 1, MAX_SECONDS);
        }
        const api = client(o);
        const id = await connectionId(api, conn);
        progress('proposing the channel; waiting for the peer to accept and for funding…');
        const c = await api.request<ChannelView>('POST', '/channels', { connectionId: id, ...req });
        emit(o, c, () => `opened ${channelLine(c)}\n`);
      },
    );

  clientCommand('open-sub', 'open a sub-channel funded by one of our channels (same peer)')
    .argument('<channel>', 'the funding channel: ID or unique prefix')
    .requiredOption('--fund <eth>', 'what we move into it, ETH')
    .option('--peer-fund <eth>', 'what the peer moves into it, ETH (default 0)')
    .action(async (chan: string, o: ClientOpts & { fund: string; peerFund?: string }) => {
      const req: OpenSubChannelRequest = { fund: checkAmount(o.fund, 'fund') };
      if (o.peerFund !== undefined) req.peerFund = checkAmount(o.peerFund, 'peer-fund');
      const api = client(o);
      const id = await channelId(api, chan);
      progress('proposing the sub-channel; waiting for the peer to accept and sign the funding…');
      const c = await api.request<ChannelView>('POST', `/channels/${enc(id)}/sub-channels`, req);
      emit(o, c, () => `opened ${channelLine(c)}\n`);
    });

  clientCommand(
    'open-virtual',
    "open a virtual channel with the peer on a connection through the intermediary of one of our channels (checks the peer's credential first)",
  )
    .argument('<connection>', 'connection ID or unique prefix of the peer')
    .requiredOption('--via <channel>', 'our ledger channel with the intermediary: ID or unique prefix')
    .requiredOption('--fund <eth>', 'what we put in, ETH')
    .option('--peer-fund <eth>', 'what the peer puts in, ETH (default 0)')
    .action(async (conn: string, o: ClientOpts & { via: string; fund: string; peerFund?: string }) => {
      const api = client(o);
      const req: OpenVirtualChannelRequest = {
        connectionId: await connectionId(api, conn),
        via: await channelId(api, o.via),
        fund: checkAmount(o.fund, 'fund'),
      };
      if (o.peerFund !== undefined) req.peerFund = checkAmount(o.peerFund, 'peer-fund');
      progress('proposing the virtual channel; waiting for the peer and the intermediary…');
      const c = await api.request<ChannelView>('POST', '/virtual-channels', req);
      emit(o, c, () => `opened ${channelLine(c)}\n`);
    });

  clientCommand('pay', 'pay the peer of a channel')
    .argument('<channel>', 'channel ID or unique prefix')
    .argument('<amount>', 'ETH')
    .action(async (chan: string, amountText: string, o: ClientOpts) => {
      const amount = checkAmount(amountText, 'amount');
      const api = client(o);
      const id = await channelId(api, chan);
      const p = await api.request<PaymentView>('POST', `/channels/${enc(id)}/payments`, { amount });
      emit(o, p, () => `${paymentLine(p)}\n`);
    });

  clientCommand('close', 'close a channel cooperatively and withdraw our balance')
    .argument('<channel>', 'channel ID or unique prefix')
    .action(async (chan: string, o: ClientOpts) => {
      const api = client(o);
      const id = await channelId(api, chan);
      progress('closing: waiting for the peer and the chain…');
      const s = await withChannelProgress(api, id, () =>
        api.request<SettlementView>('POST', `/channels/${enc(id)}/close`),
      );
      emit(o, s, () => `${settlementLine(s)}\n`);
    });

  clientCommand(
    'dispute',
    'settle a channel on chain without the peer (register, wait out the challenge, withdraw)',
  )
    .argument('<channel>', 'channel ID or unique prefix')
    .action(async (chan: string, o: ClientOpts) => {
      const api = client(o);
      const channels = await api.request<ChannelView[]>('GET', '/channels');
      const id = await resolveId('channel', chan, async () => channels);
      const duration = channels.find((c) => c.id === id)?.challengeDuration;
      progress(
        `dispute: registering the latest state, then waiting out the challenge duration` +
          `${duration === undefined ? '' : ` (${duration} s)`}…`,
      );
      const s = await withChannelProgress(api, id, () =>
        api.request<SettlementView>('POST', `/channels/${enc(id)}/dispute`),
      );
      emit(o, s, () => `${settlementLine(s)}\n`);
    });

  clientCommand('payments', 'list payments')
    .option('--channel <channel>', 'only this channel (ID or unique prefix)')
    .action(async (o: ClientOpts & { channel?: string }) => {
      const api = client(o);
      const query = o.channel === undefined ? '' : `?channelId=${enc(await channelId(api, o.channel))}`;
      const list = await api.request<PaymentView[]>('GET', `/payments${query}`);
      emit(o, list, () => paymentsTable(list));
    });

  clientCommand('proposals', 'list channel proposals from peers').action(async (o: ClientOpts) => {
    const list = await client(o).request<ProposalView[]>('GET', '/proposals');
    emit(o, list, () => proposalsTable(list));
  });

  clientCommand('accept-proposal', 'accept a channel proposal (and fund the channel)')
    .argument('<id>', 'proposal ID or unique prefix')
    .action(async (arg: string, o: ClientOpts) => {
      const api = client(o);
      const id = await proposalId(api, arg);
      progress('accepting; waiting for funding…');
      const p = await api.request<ProposalView>('POST', `/proposals/${enc(id)}/accept`);
      emit(o, p, () => `${proposalLine(p)}\n`);
    });

  clientCommand('reject-proposal', 'reject a channel proposal')
    .argument('<id>', 'proposal ID or unique prefix')
    .option('--reason <text>', 'what to tell the peer')
    .action(async (arg: string, o: ClientOpts & { reason?: string }) => {
      const api = client(o);
      const id = await proposalId(api, arg);
      const body = o.reason === undefined ? {} : { reason: o.reason };
      const p = await api.request<ProposalView>('POST', `/proposals/${enc(id)}/reject`, body);
      emit(o, p, () => `${proposalLine(p)}\n`);
    });

  clientCommand('balance', 'our ETH on chain and in channels').action(async (o: ClientOpts) => {
    const b = await client(o).request<BalanceView>('GET', '/balance');
    emit(o, b, () => balanceLines(b));
  });

  clientCommand('message', 'send a text message to the peer on a connection')
    .argument('<connection>', 'connection ID or unique prefix')
    .argument('<text...>', 'the message (words are joined with spaces)')
    .action(async (conn: string, words: string[], o: ClientOpts) => {
      const api = client(o);
      const id = await connectionId(api, conn);
      const m = await api.request<MessageView>('POST', '/messages', {
        connectionId: id,
        content: words.join(' '),
      });
      emit(o, m, () => `${messageLine(m)}\n`);
    });

  clientCommand('messages', 'list text messages')
    .option('--connection <connection>', 'only this connection (ID or unique prefix)')
    .action(async (o: ClientOpts & { connection?: string }) => {
      const api = client(o);
      const query =
        o.connection === undefined ? '' : `?connectionId=${enc(await connectionId(api, o.connection))}`;
      const list = await api.request<MessageView[]>('GET', `/messages${query}`);
      emit(o, list, () => messagesTable(list));
    });

  clientCommand(
    'events',
    "follow the agent's events until interrupted (with --json: one JSON object per line)",
  )
    .option('--since <event-id>', 'first replay the buffered events after this event ID')
    .action(async (o: ClientOpts & { since?: string }) => {
      if (o.since !== undefined) checkInteger(o.since, 'since', 0, Number.MAX_SAFE_INTEGER);
      const api = client(o);
      for await (const e of api.events({
        signal: deps.interrupt,
        since: o.since,
        reconnectDelayMs: deps.reconnectDelayMs,
        onReconnect: (_, why) => progress(`lost the agent's event stream (${why}); reconnecting…`),
      })) {
        io.out(o.json === true ? `${JSON.stringify(e satisfies NodeEventWithId)}\n` : `${eventLine(e)}\n`);
      }
    });

  return program;
}

/** Runs the command line `argv` (without node and script); the exit code. */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  const ctx = { json: false };
  const program = buildProgram(deps, ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.OK;
      if (argv.includes('--json')) {
        const message = err.message.replace(/^error: /, '');
        deps.io.out(json({ category: 'client', code: 'USAGE', message, details: { reason: err.code } }));
      }
      return EXIT.USAGE;
    }
    const e = fromLocalError(err);
    if (ctx.json) deps.io.out(json(e));
    deps.io.err(formatError(e));
    return e.exitCode;
  }
}
