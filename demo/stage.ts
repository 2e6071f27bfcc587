// What the demo's stories share: the stage they play on (the embedded chain with the Perun
// contracts, a folder for the agents' data, the narration that --json silences), starting the
// Issuer and the people as agent processes, connecting them and getting their credentials,
// opening channels, the balance tables, and checking what moved on chain.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther, type JsonRpcProvider } from 'ethers';
import { parseEthereumConfig, type EthereumConfig } from '../src/channels/ethereum/config.js';
import type { AgentConfigFile } from '../src/agent/node/config.js';
import { faucet, runChain, type RunningChain } from '../src/agent/node/chain.js';
import type {
  BalanceView,
  ChannelView,
  ConnectionView,
  CredentialView,
  NodeEventWithId,
} from '../src/agent/node/types.js';
import {
  AgentProcess,
  connectAgents,
  initAgentDir,
  stopAllProcesses,
} from '../src/agent/process/agent-process.js';
import { gasSpent } from '../src/agent/process/gas.js';

export type SettledEvent = NodeEventWithId & { type: 'settled' };

/** The embedded chain with the Perun contracts, the folder the agents keep their data in, the narration. */
export interface Stage {
  root: string;
  chainFile: string;
  chain: RunningChain;
  config: EthereumConfig;
  provider: JsonRpcProvider;
  /** Whether the demo prints only its JSON report. */
  json: boolean;
  /** Prints a line of the story, unless `json`. */
  say(line?: string): void;
}

/** How a story ended: whether it went right, and what `--json` reports besides `ok` and `seconds`. */
export interface Outcome {
  ok: boolean;
  report: Record<string, unknown>;
}

/**
 * Starts the embedded chain with the Perun contracts in a fresh folder and runs `play` on it;
 * then stops every agent process and the chain and removes the folder.
 */
export async function withStage<T>(json: boolean, play: (s: Stage) => Promise<T>): Promise<T> {
  const say = (line = '') => {
    if (!json) console.log(line);
  };
  const root = mkdtempSync(join(tmpdir(), 'perun-demo-'));
  const chainFile = join(root, 'chain.json');
  const chain = await runChain({ out: chainFile });
  try {
    const config = parseEthereumConfig(chain.config);
    say(`embedded chain on ${chain.rpcUrl}, Perun contracts deployed (Adjudicator ${config.adjudicator})`);
    return await play({ root, chainFile, chain, config, provider: chain.chain.provider(), json, say });
  } finally {
    await stopAllProcesses();
    await chain.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** A table of each agent's balance in the channel `channelId` (if given) and on chain. */
export async function table(
  s: Stage,
  title: string,
  people: AgentProcess[],
  channelId?: string,
): Promise<void> {
  if (s.json) return;
  s.say(`\n${title}`);
  s.say(`  ${'agent'.padEnd(7)} ${'in channel'.padStart(12)} ${'on chain'.padStart(22)}`);
  for (const p of people) {
    const balance = await p.api<BalanceView>('GET', '/balance');
    const channel =
      channelId === undefined ? undefined : await p.api<ChannelView>('GET', `/channels/${channelId}`);
    const inChannel = channel === undefined || channel.phase === 'Withdrawn' ? '-' : channel.ourBalance;
    s.say(`  ${p.name.padEnd(7)} ${inChannel.padStart(12)} ${balance.onChain.padStart(22)}`);
  }
}

/** Each agent's on-chain balance (ETH), as its API reports it. */
export async function onChain(people: AgentProcess[]): Promise<string[]> {
  return Promise.all(people.map(async (p) => (await p.api<BalanceView>('GET', '/balance')).onChain));
}

/**
 * The outcome of a story, its report ending with each agent's on-chain balance before the story
 * (`<name>_start_eth`, from `start` when given) and its final one (`<name>_eth`).
 */
export async function outcome(
  ok: boolean,
  people: AgentProcess[],
  report: Record<string, unknown>,
  start?: string[],
): Promise<Outcome> {
  const key = (p: AgentProcess) => p.name.toLowerCase();
  if (start !== undefined) for (const [i, p] of people.entries()) report[`${key(p)}_start_eth`] = start[i];
  const balances = await onChain(people);
  for (const [i, p] of people.entries()) report[`${key(p)}_eth`] = balances[i];
  return { ok, report };
}

/**
 * A table of channels, each row as its first agent sees it: both balances, and what its sub- or
 * virtual channels lock.
 */
export async function channelTable(
  s: Stage,
  title: string,
  rows: [AgentProcess, AgentProcess, string][],
): Promise<void> {
  if (s.json) return;
  s.say(`\n${title}`);
  s.say(`  ${'channel'.padEnd(20)} ${'balances (ETH)'.padEnd(28)} ${'locked'.padStart(6)}`);
  for (const [p, peer, id] of rows) {
    const c = await p.api<ChannelView>('GET', `/channels/${id}`);
    const name = `${p.name}–${peer.name}${c.virtual ? ' (virtual)' : ''}`;
    const balances = `${p.name} ${c.ourBalance}`.padEnd(14) + `${peer.name} ${c.theirBalance}`.padEnd(14);
    s.say(`  ${name.padEnd(20)} ${balances} ${c.locked.padStart(6)}`);
  }
}

/**
 * Whether each agent's on-chain balance moved from block `from` to block `to` by exactly its
 * share (wei; negative for what it paid in), less the gas it paid for its transactions.
 */
export async function movedExactly(
  provider: JsonRpcProvider,
  people: AgentProcess[],
  shares: bigint[],
  from: number,
  to: number,
): Promise<boolean> {
  let exact = true;
  for (const [i, p] of people.entries()) {
    const before = await provider.getBalance(p.info.address, from);
    const after = await provider.getBalance(p.info.address, to);
    const gas = await gasSpent(provider, p.info.address, from, to);
    exact &&= after === before + shares[i]! - gas;
  }
  return exact;
}

/** Starts the Issuer's agent, which answers credential requests with `spendingLimit` (ETH). */
export async function startIssuer(
  s: Stage,
  spendingLimit: string,
): Promise<{ issuer: AgentProcess; dir: { dataDir: string; address: string; passphrase: string } }> {
  const dir = await initAgentDir(s.root, 'Issuer', {
    chain: s.chainFile,
    autoIssueSpendingLimit: spendingLimit,
  });
  const issuer = await AgentProcess.start('Issuer', dir.dataDir, dir.passphrase);
  s.say(
    `Issuer agent started (process ${issuer.child.pid}), issuer DID ${issuer.info.issuerDid.slice(0, 40)}…`,
  );
  return { issuer, dir };
}

/**
 * Starts an agent for each of `names` on the chain, with `policy` (`configOf` adds to it per agent)
 * and `fund` ETH from the faucet.
 */
export async function startPeople(
  s: Stage,
  names: string[],
  policy: Partial<AgentConfigFile>,
  fund: string,
  configOf: Record<string, Partial<AgentConfigFile>> = {},
): Promise<AgentProcess[]> {
  const dirs = await Promise.all(
    names.map((n) => initAgentDir(s.root, n, { chain: s.chainFile, ...policy, ...configOf[n] })),
  );
  for (const d of dirs) await faucet({ chain: s.config, address: d.address, amount: parseEther(fund) });
  const people = await Promise.all(
    dirs.map((d, i) => AgentProcess.start(names[i]!, d.dataDir, d.passphrase)),
  );
  for (const p of people)
    s.say(`${p.name} started (process ${p.child.pid}), address ${p.info.address}, API ${p.apiUrl}`);
  return people;
}

/** `invitee` accepts an invitation of `inviter`: the inviter's side of the connection, and the invitee's. */
export async function connectBoth(
  inviter: AgentProcess,
  invitee: AgentProcess,
): Promise<[ConnectionView, ConnectionView]> {
  const theirs = await connectAgents(inviter, invitee);
  const ours = (await inviter.api<ConnectionView[]>('GET', '/connections')).find(
    (c) => c.theirDid === theirs.ourDid,
  )!;
  return [ours, theirs];
}

/**
 * `holder` asks the Issuer for its credential over `connectionId` (a new connection by default);
 * the Issuer answers such requests by its config.
 */
export async function requestCredential(
  issuer: AgentProcess,
  holder: AgentProcess,
  connectionId?: string,
): Promise<CredentialView> {
  return holder.api<CredentialView>('POST', '/credentials/request', {
    connectionId: connectionId ?? (await connectAgents(issuer, holder)).id,
    name: holder.name,
  });
}

/** `p` opens a channel (`body` POSTed to `path`); its view, once `peer` has the channel open too. */
export async function openChannel(
  p: AgentProcess,
  peer: AgentProcess,
  path: '/channels' | '/virtual-channels',
  body: Record<string, string>,
): Promise<ChannelView> {
  let channel: ChannelView | undefined;
  await peer.event(
    (e) => e.type === 'channel-opened' && e.channel.virtual === (path === '/virtual-channels'),
    async () => {
      channel = await p.api<ChannelView>('POST', path, body);
    },
  );
  return channel!;
}
