// Certified agent processes, for the benchmarks, end-to-end tests and demos that run them: a chain
// file, an Issuer process that certifies every agent over DIDComm (credential request, address
// proof, issue-credential v2) and stops, then the agents running with the policy that trusts it,
// so every channel they open is gated as in real use. Its steps serve tests that set up otherwise
// (an Issuer that stays, a Mediator, an agent run in the test's process): the shared chain
// (startAgentWorld), an agent of one's own on it (startWorldAgent), agents trusting an Issuer
// (trustingAgents).
import { join } from 'node:path';
import { parseEther } from 'ethers';
import { faucet, runChain, type RunningChain } from '../node/chain.js';
import type { AgentConfigFile } from '../node/config.js';
import type { CredentialView } from '../node/types.js';
import { AgentProcess, connectAgents, initAgentDir } from './agent-process.js';
import { parseEthereumConfig, type EthereumConfig } from '../../channels/ethereum/config.js';

export interface CertifiedPair {
  chain: RunningChain;
  alice: AgentProcess;
  bob: AgentProcess;
}

/** The chain the agents of a run share, its file in `root` beside their data directories. */
export interface AgentWorld {
  root: string;
  chainFile: string;
  chain: RunningChain;
  config: EthereumConfig;
}

/** An agent's data directory made by initAgentDir. */
export type AgentDir = Awaited<ReturnType<typeof initAgentDir>>;

/** Starts the chain, writing its file into `root`. */
export async function startAgentWorld(root: string): Promise<AgentWorld> {
  const chainFile = join(root, 'chain.json');
  const chain = await runChain({ out: chainFile });
  return { root, chainFile, chain, config: parseEthereumConfig(chain.config) };
}

/** An agent of its own on the world's chain (an Issuer, a Mediator), initialised with `config` and started. */
export async function startWorldAgent(
  world: AgentWorld,
  name: string,
  config: Partial<AgentConfigFile> = {},
): Promise<AgentProcess> {
  const dir = await initAgentDir(world.root, name, { chain: world.chainFile, ...config });
  return AgentProcess.start(name, dir.dataDir, dir.passphrase);
}

export interface TrustingAgentsOptions<N extends string, S extends N> {
  /** The agents, in start order. */
  names: readonly N[];
  fundEth: string;
  /** Proposals each accepts unasked up to this fund (ETH). */
  autoAcceptMaxFund: string;
  /** Config for every agent; `configOf` adds to it per agent. */
  config?: Partial<AgentConfigFile>;
  configOf?: Partial<Record<N, Partial<AgentConfigFile>>>;
  /** Environment variables per agent (kept across restarts). */
  env?: Partial<Record<N, Record<string, string>>>;
  /** The agents started as processes; default all (the others get their data directory and funds). */
  start?: readonly S[];
}

/**
 * Initialises the named agents with the policy that trusts `issuer`'s credentials, gives each
 * `fundEth` on chain and starts them (those in `start`).
 */
export async function trustingAgents<N extends string, S extends N = N>(
  world: AgentWorld,
  issuer: AgentProcess,
  o: TrustingAgentsOptions<N, S>,
): Promise<{ dirs: Record<N, AgentDir>; agents: Record<S, AgentProcess> }> {
  const policy = {
    chain: world.chainFile,
    trustedIssuers: [issuer.info.issuerDid],
    autoAcceptMaxFund: o.autoAcceptMaxFund,
    ...o.config,
  };
  const made = await Promise.all(
    o.names.map((n) => initAgentDir(world.root, n, { ...policy, ...o.configOf?.[n] })),
  );
  for (const d of made)
    await faucet({ chain: world.config, address: d.address, amount: parseEther(o.fundEth) });
  const dirs = Object.fromEntries(o.names.map((n, i) => [n, made[i]!])) as Record<N, AgentDir>;
  const start: readonly S[] = o.start ?? (o.names as readonly S[]);
  const started = await Promise.all(
    start.map((n) => AgentProcess.start(n, dirs[n].dataDir, dirs[n].passphrase, o.env?.[n] ?? {})),
  );
  const agents = Object.fromEntries(start.map((n, i) => [n, started[i]!])) as Record<S, AgentProcess>;
  return { dirs, agents };
}

export interface CertifiedAgentsOptions<N extends string> {
  root: string;
  /** The agents, in start order. */
  names: readonly N[];
  fundEth: string;
  /** Config for every agent; `configOf` adds to it per agent. */
  config?: Partial<AgentConfigFile>;
  configOf?: Partial<Record<N, Partial<AgentConfigFile>>>;
  onChain: (chain: RunningChain) => void;
  /** Environment variables per agent (kept across restarts). */
  env?: Partial<Record<N, Record<string, string>>>;
}

/**
 * Starts the chain (its file in `root`) and the named agents with credentials of an Issuer they
 * trust; each gets `fundEth` on chain. The caller stops the processes (stopAllProcesses) and the
 * chain, also when this throws after the chain started (`onChain` hands it over first).
 */
export async function certifiedAgents<N extends string>(
  o: CertifiedAgentsOptions<N>,
): Promise<{ chain: RunningChain; agents: Record<N, AgentProcess> }> {
  const world = await startAgentWorld(o.root);
  o.onChain(world.chain);
  const issuer = await startWorldAgent(world, 'Issuer', { autoIssueSpendingLimit: '100' });
  const { agents } = await trustingAgents(world, issuer, {
    names: o.names,
    fundEth: o.fundEth,
    autoAcceptMaxFund: '100',
    ...(o.config === undefined ? {} : { config: o.config }),
    ...(o.configOf === undefined ? {} : { configOf: o.configOf }),
    ...(o.env === undefined ? {} : { env: o.env }),
  });
  for (const n of o.names) {
    const holder = agents[n];
    const c = await connectAgents(issuer, holder);
    await holder.api<CredentialView>('POST', '/credentials/request', {
      connectionId: c.id,
      name: holder.name,
    });
  }
  await issuer.stop();
  return { chain: world.chain, agents };
}

/** Alice and Bob, certified (certifiedAgents); `env` adds environment variables to their processes. */
export async function certifiedPair(o: {
  root: string;
  fundEth: string;
  config?: Partial<AgentConfigFile>;
  onChain: (chain: RunningChain) => void;
  env?: { alice?: Record<string, string>; bob?: Record<string, string> };
}): Promise<CertifiedPair> {
  const { chain, agents } = await certifiedAgents({
    root: o.root,
    names: ['Alice', 'Bob'] as const,
    fundEth: o.fundEth,
    ...(o.config === undefined ? {} : { config: o.config }),
    onChain: o.onChain,
    env: { ...(o.env?.alice ? { Alice: o.env.alice } : {}), ...(o.env?.bob ? { Bob: o.env.bob } : {}) },
  });
  return { chain, alice: agents.Alice, bob: agents.Bob };
}
