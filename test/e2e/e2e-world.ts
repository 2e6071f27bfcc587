// The set-up the end-to-end suites that run their own Issuer share: a temporary root, the chain
// the agents share in it (startAgentWorld), and the clean-up: every agent process, the chain, the
// root.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAllProcesses } from '../../src/agent/process/agent-process.js';
import { startAgentWorld, type AgentWorld } from '../../src/agent/process/certified-pair.js';

export interface E2eWorld extends AgentWorld {
  /** Stops every agent process and the chain, and removes the root. */
  stop(): Promise<void>;
}

/** A fresh root named `prefix`… in the temporary directory, with the chain started in it. */
export async function e2eWorld(prefix: string): Promise<E2eWorld> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  let world: AgentWorld;
  try {
    world = await startAgentWorld(root);
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  return {
    ...world,
    stop: async () => {
      await stopAllProcesses();
      await world.chain.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
