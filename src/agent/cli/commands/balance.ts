// The balance command: our ETH on chain and in channels.
import type { Command } from 'commander';
import type { BalanceView } from '../../node/types.js';
import { clientCommand, type ClientOpts, type CommandContext } from '../context.js';
import { balanceLines } from '../output.js';

export function register(program: Command, ctx: CommandContext): void {
  clientCommand(program, 'balance', 'our ETH on chain and in channels').action(async (o: ClientOpts) => {
    const b = await ctx.client(o).request<BalanceView>('GET', '/balance');
    ctx.emit(o, b, () => balanceLines(b));
  });
}
