// What the command groups under commands/ share: the program's dependencies (CliDeps: output
// streams, environment, fetch, the node's functions, signals), the command context built from them
// (the agent's REST client, JSON or text output, progress on stderr), and the options common to
// many commands.
import { type Command, Option } from 'commander';
import type { initAgent, loadAgentConfig } from '../node/config.js';
import type { faucet, runChain } from '../node/chain.js';
import type { runChains } from '../node/run-chains.js';
import type { startAgent } from '../node/start.js';
import { ApiClient, nodeFetch, resolveEndpoint } from './client.js';
import { json } from './output.js';

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
  runChains: typeof runChains;
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
  /** First delay before `events` reconnects or `pay` retries (ms); doubles per failed attempt. */
  reconnectDelayMs?: number;
}

/** The options every client command has. */
export interface ClientOpts {
  json?: boolean;
  apiUrl?: string;
  token?: string;
  dataDir?: string;
}

/** What a command group's `register` gets besides the program. */
export interface CommandContext {
  deps: CliDeps;
  /** Writes a line of progress to stderr. */
  progress(line: string): void;
  /** Prints `value` as JSON under --json, else the text `human` makes. */
  emit(opts: { json?: boolean }, value: unknown, human: () => string): void;
  /** The REST client of the agent that a client command's options name. */
  client(o: ClientOpts): ApiClient;
}

export function commandContext(deps: CliDeps): CommandContext {
  const fetchFn = deps.fetch ?? nodeFetch;
  return {
    deps,
    progress: (line) => deps.io.err(`${line}\n`),
    emit: (opts, value, human) => deps.io.out(opts.json === true ? json(value) : human()),
    client: (o) => new ApiClient(resolveEndpoint(o, deps.env, deps.cwd), fetchFn, deps.interrupt),
  };
}

export const dataDirOption = () =>
  new Option('--data-dir <dir>', 'data directory (default: PERUN_DATA_DIR, else ./.perun-agent)');
export const jsonOption = () => new Option('--json', 'print one JSON value instead of text');

/** A command of `program` that talks to a running agent: --json and the options naming the agent. */
export function clientCommand(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .addOption(jsonOption())
    .option('--api-url <url>', "the agent's API URL (default: PERUN_API_URL, else from the data directory)")
    .option('--token <token>', 'API token (default: PERUN_API_TOKEN, else <data dir>/api-token)')
    .addOption(dataDirOption());
}
