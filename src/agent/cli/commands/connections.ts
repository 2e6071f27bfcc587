// The commands about DIDComm connections: invite a peer, accept a peer's invitation, list them.
import type { Command } from 'commander';
import type { ConnectionView, InvitationView } from '../../node/types.js';
import { clientCommand, type ClientOpts, type CommandContext } from '../context.js';
import { connectionLine, connectionsTable, usageError } from '../output.js';

export function register(program: Command, ctx: CommandContext): void {
  const { progress, emit } = ctx;

  clientCommand(program, 'invite', 'create an invitation for a peer (prints its URL)').action(
    async (o: ClientOpts) => {
      const inv = await ctx.client(o).request<InvitationView>('POST', '/invitations');
      emit(o, inv, () => `${inv.url}\n`);
      if (o.json !== true) progress(`give the peer this URL: perun-agent accept-invitation '<url>'`);
    },
  );

  clientCommand(
    program,
    'accept-invitation',
    "connect to a peer by its invitation URL; waits until it's ready",
  )
    .argument('<url>', 'the invitation URL (from the peer\'s "perun-agent invite")')
    .action(async (url: string, o: ClientOpts) => {
      try {
        new URL(url);
      } catch {
        throw usageError('INVALID_ARGUMENT', 'not an invitation URL', { url });
      }
      const api = ctx.client(o);
      progress('connecting…');
      const c = await api.request<ConnectionView>('POST', '/connections', { invitationUrl: url });
      emit(o, c, () => `${connectionLine(c)}\n`);
    });

  clientCommand(program, 'connections', 'list DIDComm connections').action(async (o: ClientOpts) => {
    const list = await ctx.client(o).request<ConnectionView[]>('GET', '/connections');
    emit(o, list, () => connectionsTable(list));
  });
}
