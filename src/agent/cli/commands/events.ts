// The events command: follows the agent's event stream until interrupted, reconnecting when it
// breaks.
import type { Command } from 'commander';
import type { NodeEventWithId } from '../../node/types.js';
import { checkInteger } from '../args.js';
import { clientCommand, type ClientOpts, type CommandContext } from '../context.js';
import { eventLine } from '../output.js';

export function register(program: Command, ctx: CommandContext): void {
  const { deps, progress } = ctx;

  clientCommand(
    program,
    'events',
    "follow the agent's events until interrupted (with --json: one JSON object per line)",
  )
    .option('--since <event-id>', 'first replay the buffered events after this event ID')
    .action(async (o: ClientOpts & { since?: string }) => {
      if (o.since !== undefined) checkInteger(o.since, 'since', 0, Number.MAX_SAFE_INTEGER);
      const api = ctx.client(o);
      for await (const e of api.events({
        signal: deps.interrupt,
        since: o.since,
        reconnectDelayMs: deps.reconnectDelayMs,
        onReconnect: (_, why) => progress(`lost the agent's event stream (${why}); reconnecting…`),
      })) {
        deps.io.out(
          o.json === true ? `${JSON.stringify(e satisfies NodeEventWithId)}\n` : `${eventLine(e)}\n`,
        );
      }
    });
}
