// The commands about channel proposals from peers: list them, accept one (and fund the channel),
// reject one.
import type { Command } from 'commander';
import type { ProposalView } from '../../node/types.js';
import { proposalId } from '../args.js';
import { clientCommand, type ClientOpts, type CommandContext } from '../context.js';
import { proposalLine, proposalsTable } from '../output.js';

const enc = encodeURIComponent;

export function register(program: Command, ctx: CommandContext): void {
  const { progress, emit } = ctx;

  clientCommand(program, 'proposals', 'list channel proposals from peers').action(async (o: ClientOpts) => {
    const list = await ctx.client(o).request<ProposalView[]>('GET', '/proposals');
    emit(o, list, () => proposalsTable(list));
  });

  clientCommand(program, 'accept-proposal', 'accept a channel proposal (and fund the channel)')
    .argument('<id>', 'proposal ID or unique prefix')
    .action(async (arg: string, o: ClientOpts) => {
      const api = ctx.client(o);
      const id = await proposalId(api, arg);
      progress('accepting; waiting for funding…');
      const p = await api.request<ProposalView>('POST', `/proposals/${enc(id)}/accept`);
      emit(o, p, () => `${proposalLine(p)}\n`);
    });

  clientCommand(program, 'reject-proposal', 'reject a channel proposal')
    .argument('<id>', 'proposal ID or unique prefix')
    .option('--reason <text>', 'what to tell the peer')
    .action(async (arg: string, o: ClientOpts & { reason?: string }) => {
      const api = ctx.client(o);
      const id = await proposalId(api, arg);
      const body = o.reason === undefined ? {} : { reason: o.reason };
      const p = await api.request<ProposalView>('POST', `/proposals/${enc(id)}/reject`, body);
      emit(o, p, () => `${proposalLine(p)}\n`);
    });
}
