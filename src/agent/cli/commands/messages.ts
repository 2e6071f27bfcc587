// The commands about text messages: send one to the peer on a connection, list them.
import type { Command } from 'commander';
import type { MessageView } from '../../node/types.js';
import { connectionId, lastQuery, oldestFirst } from '../args.js';
import { clientCommand, type ClientOpts, type CommandContext } from '../context.js';
import { messageLine, messagesTable } from '../output.js';

export function register(program: Command, ctx: CommandContext): void {
  const { emit } = ctx;

  clientCommand(program, 'message', 'send a text message to the peer on a connection')
    .argument('<connection>', 'connection ID or unique prefix')
    .argument('<text...>', 'the message (words are joined with spaces)')
    .action(async (conn: string, words: string[], o: ClientOpts) => {
      const api = ctx.client(o);
      const id = await connectionId(api, conn);
      const m = await api.request<MessageView>('POST', '/messages', {
        connectionId: id,
        content: words.join(' '),
      });
      emit(o, m, () => `${messageLine(m)}\n`);
    });

  clientCommand(program, 'messages', 'list text messages')
    .option('--connection <connection>', 'only this connection (ID or unique prefix)')
    .option('--last <n>', 'only the newest n (1 to 1000)')
    .action(async (o: ClientOpts & { connection?: string; last?: string }) => {
      const query = lastQuery(o.last);
      const api = ctx.client(o);
      if (o.connection !== undefined) query.set('connectionId', await connectionId(api, o.connection));
      const text = query.toString();
      const page = await api.request<MessageView[]>('GET', `/messages${text === '' ? '' : `?${text}`}`);
      const list = oldestFirst(page, o.last);
      emit(o, list, () => messagesTable(list));
    });
}
