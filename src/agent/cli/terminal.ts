// The real process behind CliDeps: stdout/stderr, the no-echo passphrase prompt on the TTY, the
// node's functions loaded on demand, and SIGINT/SIGTERM/SIGHUP as an abort signal (a second signal
// exits at once).
import type { CliDeps, CliIo, NodeFunctions } from './context.js';
import { interrupted } from './client.js';
import { EXIT } from './output.js';

/** Reads a line from the terminal in raw mode, echoing nothing; Ctrl-C rejects, Ctrl-D ends the line. */
export function promptSecret(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(chars.join(''));
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(interrupted());
          return;
        }
        if (ch === '\u007f' || ch === '\b') chars = chars.slice(0, -1);
        else if (ch === '\u0015') chars = [];
        else if (ch >= ' ') chars.push(ch);
      }
    };
    stdin.on('data', onData);
  });
}

export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    outIsTTY: process.stdout.isTTY === true,
    errIsTTY: process.stderr.isTTY === true,
    promptSecret: process.stdin.isTTY === true ? promptSecret : undefined,
  };
}

/**
 * The node's functions; the chain's modules (ethers, the contracts) load on first use, so that
 * `start` gets to its API before loading them.
 */
export async function loadNode(): Promise<NodeFunctions> {
  const config = await import('../node/config.js');
  const start = await import('../node/start.js');
  const chain = () => import('../node/chain.js');
  return {
    initAgent: config.initAgent,
    loadAgentConfig: config.loadAgentConfig,
    startAgent: start.startAgent,
    runChain: async (...a) => (await chain()).runChain(...a),
    runChains: async (...a) => (await import('../node/run-chains.js')).runChains(...a),
    faucet: async (...a) => (await chain()).faucet(...a),
  };
}

/** Aborts on the first SIGINT, SIGTERM or SIGHUP; the second one exits with 130 without waiting. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(EXIT.INTERRUPTED);
    controller.abort();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  return controller.signal;
}

export function processDeps(version: string | undefined): CliDeps {
  return {
    io: processIo(),
    env: process.env,
    cwd: process.cwd(),
    interrupt: interruptSignal(),
    loadNode,
    version,
  };
}
