// The `token` commands: make, list and revoke the scoped API tokens (read-only, payment) of an
// agent's data directory. They work on the data directory itself, as init and start do, whether
// the agent runs or not: minting a token is the owner's act on their own files, and a running
// agent sees the change at its next request.
import type { Command } from 'commander';
import {
  SCOPED_TOKEN_SCOPES,
  createScopedToken,
  listScopedTokens,
  revokeScopedToken,
  type ScopedTokenScope,
} from '../../api/scoped-tokens.js';
import type { Opts } from '../args.js';
import { resolveDataDir } from '../client.js';
import { dataDirOption, jsonOption, type CommandContext } from '../context.js';
import { pairs, table, usageError } from '../output.js';

const MAX_NAME = 64;

export function register(program: Command, ctx: CommandContext): void {
  const { deps, emit } = ctx;
  const dataDirOf = (o: Opts) => resolveDataDir(o.dataDir as string | undefined, deps.env, deps.cwd);
  const token = program
    .command('token')
    .description('scoped API tokens of the data directory: read-only, or payment (read-only and pay)');

  token
    .command('create')
    .description('make a token; it is printed once and stored only as a hash')
    .requiredOption('--scope <scope>', `what it may do: ${SCOPED_TOKEN_SCOPES.join(' or ')}`)
    .option('--name <name>', 'a name to tell it apart in "token list"', '')
    .addOption(dataDirOption())
    .addOption(jsonOption())
    .action((o: Opts) => {
      const scope = o.scope as string;
      if (!(SCOPED_TOKEN_SCOPES as readonly string[]).includes(scope)) {
        throw usageError('INVALID_ARGUMENT', `--scope: expected ${SCOPED_TOKEN_SCOPES.join(' or ')}`, {
          scope,
        });
      }
      const name = (o.name as string).trim();
      if (name.length > MAX_NAME || /[\p{Cc}]/u.test(name)) {
        throw usageError('INVALID_ARGUMENT', `--name: at most ${MAX_NAME} printable characters`, { name });
      }
      const made = createScopedToken(dataDirOf(o), scope as ScopedTokenScope, name);
      emit(
        o,
        made,
        () =>
          pairs([
            ['id', made.id],
            ['scope', made.scope],
            ['name', made.name === '' ? undefined : made.name],
            ['token', made.token],
          ]) + 'the token is shown only now: keep it (clients give it as --token or PERUN_API_TOKEN)\n',
      );
    });

  token
    .command('list')
    .description('the scoped tokens (never the tokens themselves)')
    .addOption(dataDirOption())
    .addOption(jsonOption())
    .action((o: Opts) => {
      const list = listScopedTokens(dataDirOf(o));
      emit(o, list, () =>
        list.length === 0
          ? 'no scoped tokens\n'
          : table(
              ['ID', 'SCOPE', 'CREATED', 'NAME'],
              list.map((t) => [t.id, t.scope, t.createdAt, t.name]),
            ),
      );
    });

  token
    .command('revoke')
    .description('revoke a token: refused from its next request on, also by a running agent')
    .argument('<id>', 'token ID or unique prefix (from "token list")')
    .addOption(dataDirOption())
    .addOption(jsonOption())
    .action((id: string, o: Opts) => {
      const revoked = revokeScopedToken(dataDirOf(o), id);
      emit(
        o,
        revoked,
        () => `revoked ${revoked.id} (${revoked.scope}${revoked.name ? `, ${revoked.name}` : ''})\n`,
      );
    });
}
