// The `perun-agent` command line as a commander program: its description, global help and
// version, and the command groups under commands/ in the order `--help` lists them: the node's
// own commands (init, start, chain, faucet call into the node; info asks a running agent), then
// the client commands that talk to a running agent's REST API. Everything the program touches
// outside itself (output streams, environment, fetch, the node's functions, signals) comes in as
// CliDeps, so tests run it in-process.
//
// Exit codes: 0 ok, 1 internal or unknown, 2 usage or invalid input (API category "client"),
// 3 cannot reach the agent, 4 peer refused or unreachable (categories "peer", "protocol"),
// 5 chain error, 6 not found, 7 unauthorized (or a token without the scope), 130 interrupted
// before the agent answered.
import { Command, CommanderError } from 'commander';
import { register as registerBalance } from './commands/balance.js';
import { register as registerChannels } from './commands/channels.js';
import { register as registerConnections } from './commands/connections.js';
import { register as registerCredentials } from './commands/credentials.js';
import { register as registerEvents } from './commands/events.js';
import { register as registerMessages } from './commands/messages.js';
import { register as registerNode } from './commands/node.js';
import { register as registerProposals } from './commands/proposals.js';
import { register as registerTokens } from './commands/tokens.js';
import { commandContext, type CliDeps } from './context.js';
import { EXIT, EXIT_CODES_HELP, formatError, fromLocalError, json } from './output.js';

export type { CliDeps, CliIo, NodeFunctions } from './context.js';

const ENV_HELP = `Environment:
  PERUN_DATA_DIR      data directory (default ./.perun-agent)
  PERUN_PASSPHRASE    passphrase of the agent's keys (init, start), read once and removed from
                      the environment; --passphrase-file (mode 600) or --passphrase-fd N keep it
                      out of the environment altogether
  PERUN_API_URL       API URL of a running agent (client commands)
  PERUN_API_TOKEN     API token of a running agent (client commands)
  PERUN_LABEL, PERUN_DATABASE, PERUN_DIDCOMM_HOST, PERUN_DIDCOMM_PORT, PERUN_DIDCOMM_ENDPOINT,
  PERUN_API_HOST, PERUN_API_PORT, PERUN_CHAIN, PERUN_TRUSTED_ISSUERS (comma-separated),
  PERUN_AUTO_ACCEPT, PERUN_AUTO_ACCEPT_MAX_FUND, PERUN_AUTO_ISSUE_SPENDING_LIMIT,
  PERUN_CHALLENGE_DURATION, PERUN_PROPOSALS_PER_MINUTE, PERUN_REVERIFY_AFTER_SECONDS,
  PERUN_INTERMEDIARY, PERUN_DIDCOMM_MAX_MESSAGE_BYTES, PERUN_DIDCOMM_MAX_REQUESTS,
  PERUN_DIDCOMM_MAX_INFLIGHT_BYTES, PERUN_DIDCOMM_MAX_CONNECTIONS, PERUN_DIDCOMM_SOURCE_RATE,
  PERUN_DIDCOMM_HEADERS_TIMEOUT, PERUN_DIDCOMM_BODY_TIMEOUT, PERUN_DIDCOMM_WS_PORT,
  PERUN_DIDCOMM_WS_ENDPOINT, PERUN_INBOUND, PERUN_MEDIATOR, PERUN_MEDIATOR_KEEP_DAYS,
  PERUN_MEDIATOR_INVITATION, PERUN_MEDIATOR_POLL_SECONDS,
  PERUN_WEBHOOK_URLS (comma-separated), PERUN_WEBHOOK_MAX_ATTEMPTS, PERUN_WEBHOOK_TIMEOUT,
  PERUN_WEBHOOK_MAX_DELAY, PERUN_WEBHOOK_MAX_QUEUED
                      agent settings (start); config.json < environment < flags
  PERUN_LOG_LEVEL     error, warn, info (default) or debug: what init and start log on stderr
  PERUN_LOG_FORMAT    text (default: readable lines) or json (one object a line: time, level,
                      msg, fields); both also in config.json (logLevel, logFormat) and flags
  PERUN_SECP256K1     secp256k1 engine: native (libsecp256k1) or noble (JavaScript);
                      unset: native, else noble where the native binding does not load

Client commands find the agent by --api-url/--token, else PERUN_API_URL/PERUN_API_TOKEN, else
the data directory's config.json (apiHost, apiPort) and api-token. Channel, connection and
proposal arguments may be unique prefixes of their IDs.`;

/** The command groups, in the order `--help` lists their commands. */
const COMMAND_GROUPS = [
  registerNode,
  registerTokens,
  registerConnections,
  registerCredentials,
  registerChannels,
  registerProposals,
  registerBalance,
  registerMessages,
  registerEvents,
];

/** The commander program; `mode.json` tells the caller whether the running command prints JSON. */
export function buildProgram(deps: CliDeps, mode: { json: boolean } = { json: false }): Command {
  const { io } = deps;
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
      mode.json = action.opts().json === true;
    });
  if (deps.version !== undefined) program.version(deps.version);
  const ctx = commandContext(deps);
  for (const register of COMMAND_GROUPS) register(program, ctx);
  return program;
}

/** Runs the command line `argv` (without node and script); the exit code. */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  const mode = { json: false };
  const program = buildProgram(deps, mode);
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
    if (mode.json) deps.io.out(json(e));
    deps.io.err(formatError(e));
    return e.exitCode;
  }
}
