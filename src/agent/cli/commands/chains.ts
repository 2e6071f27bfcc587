// `perun-agent chain --chains N`: N development chains named in one chain file, until SIGINT or
// SIGTERM; and waiting for that signal, shared with `start` and the single chain.
import type { CommandContext, NodeFunctions } from '../context.js';
import { json, pairs } from '../output.js';

/** Resolves when `signal` aborts, keeping the process alive until then (a chain's child process may not). */
export const untilAborted = (signal: AbortSignal) =>
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

export async function runSeveralChains(
  ctx: CommandContext,
  node: NodeFunctions,
  o: { host: string; out: string; count: number; json: boolean },
): Promise<void> {
  const running = await node.runChains({ host: o.host, out: o.out, count: o.count });
  try {
    ctx.emit(
      o,
      {
        chains: running.chains.map((c) => ({ rpcUrl: c.rpcUrl, chainId: String(c.chain.chainId) })),
        chainFile: o.out,
        config: running.config,
      },
      () =>
        pairs([
          ...running.chains.map((c): [string, string] => [`chain ${c.chain.chainId}`, c.rpcUrl]),
          ['chain file', o.out],
        ]) +
        json(running.config) +
        `agents use it with: perun-agent init --chain ${o.out}\nstop with Ctrl-C\n`,
    );
    await untilAborted(ctx.deps.interrupt);
    ctx.progress('stopping…');
  } finally {
    await running.stop();
  }
}
