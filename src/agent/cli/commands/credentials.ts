// The commands about peer credentials: list them; as an issuer, issue one over a connection or
// sign one for a holder to import; as a holder, import a signed one or request one over a
// connection.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { CredentialView, IssueCredentialRequest } from '../../node/types.js';
import { checkAddress, checkAmount, connectionId, isoDate } from '../args.js';
import { clientCommand, type ClientOpts, type CommandContext } from '../context.js';
import { credentialLine, credentialsTable, usageError } from '../output.js';

export function register(program: Command, ctx: CommandContext): void {
  const { progress, emit } = ctx;

  clientCommand(program, 'credentials', 'list the credentials we hold and issued').action(
    async (o: ClientOpts) => {
      const list = await ctx.client(o).request<CredentialView[]>('GET', '/credentials');
      emit(o, list, () => credentialsTable(list));
    },
  );

  clientCommand(
    program,
    'issue-credential',
    'issuer role: issue a peer credential to the holder on a connection',
  )
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
        const api = ctx.client(o);
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
    program,
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
        const signed = await ctx.client(o).request<{ credential: string }>('POST', '/credentials/sign', body);
        emit(o, signed, () => `${signed.credential}\n`);
      },
    );

  clientCommand(
    program,
    'import-credential',
    'holder role: store a peer credential signed for us (a JSON file, or - for stdin)',
  )
    .argument('<file>', 'the credential as printed by sign-credential')
    .action(async (file: string, o: ClientOpts) => {
      let text: string;
      try {
        text = readFileSync(file === '-' ? 0 : path.resolve(ctx.deps.cwd, file), 'utf8');
      } catch (err) {
        throw usageError('INVALID_ARGUMENT', `cannot read ${file}`, { error: String(err) });
      }
      const c = await ctx.client(o).request<CredentialView>('POST', '/credentials/import', {
        credential: text.trim(),
      });
      emit(o, c, () => `imported ${credentialLine(c)}\n`);
    });

  clientCommand(
    program,
    'request-credential',
    'holder role: ask the issuer on a connection for a peer credential',
  )
    .argument('<connection>', 'connection ID or unique prefix')
    .requiredOption('--name <name>', 'the name to claim')
    .action(async (conn: string, o: ClientOpts & { name: string }) => {
      const api = ctx.client(o);
      const id = await connectionId(api, conn);
      progress('waiting for the issuer…');
      const c = await api.request<CredentialView>('POST', '/credentials/request', {
        connectionId: id,
        name: o.name,
      });
      emit(o, c, () => `received ${credentialLine(c)}\n`);
    });
}
