// The set-up the end-to-end suites that run their own Issuer share: a temporary root, the chain
// the agents share in it (startAgentWorld), and the clean-up: every agent process, the chain, the
// root; and the opening of a plain channel over REST.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelView } from '../../src/agent/node/types.js';
import { stopAllProcesses, type AgentProcess } from '../../src/agent/process/agent-process.js';
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

/** `opener` opens a channel of 5 and 5 ETH with `peer` on `connectionId` over REST; once both see it open. */
export async function openFiveAndFive(
  opener: AgentProcess,
  peer: AgentProcess,
  connectionId: string,
): Promise<ChannelView> {
  const opened = peer.event((e) => e.type === 'channel-opened');
  const channel = await opener.api<ChannelView>('POST', '/channels', {
    connectionId,
    fund: '5',
    peerFund: '5',
  });
  expect(channel).toMatchObject({ phase: 'Acting', ourBalance: '5', theirBalance: '5' });
  await opened;
  return channel;
}
