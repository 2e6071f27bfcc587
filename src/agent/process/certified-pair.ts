// Certified agent processes, for the benchmarks, end-to-end tests and demos that run them: a chain
// file, an Issuer process that certifies every agent over DIDComm (credential request, address
// proof, issue-credential v2) and stops, then the agents running with the policy that trusts it,
// so every channel they open is gated as in real use.
import { parseEther } from 'ethers';
import { faucet, runChain, type RunningChain } from '../node/chain.js';
import type { AgentConfigFile } from '../node/config.js';
import type { CredentialView } from '../node/types.js';
import { AgentProcess, connectAgents, initAgentDir } from './agent-process.js';
import { parseEthereumConfig } from '../../channels/ethereum/config.js';

export interface CertifiedPair {
  chain: RunningChain;
  alice: AgentProcess;
  bob: AgentProcess;
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
  const chainFile = `${o.root}/chain.json`;
  const chain = await runChain({ out: chainFile });
  o.onChain(chain);
  const config = parseEthereumConfig(chain.config);
  const issuerDir = await initAgentDir(o.root, 'Issuer', { chain: chainFile, autoIssueSpendingLimit: '100' });
  const issuer = await AgentProcess.start('Issuer', issuerDir.dataDir, issuerDir.passphrase);
  const policy = {
    chain: chainFile,
    trustedIssuers: [issuer.info.issuerDid],
    autoAcceptMaxFund: '100',
    ...o.config,
  };
  const dirs = await Promise.all(
    o.names.map((n) => initAgentDir(o.root, n, { ...policy, ...o.configOf?.[n] })),
  );
  for (const d of dirs) await faucet({ chain: config, address: d.address, amount: parseEther(o.fundEth) });
  const started = await Promise.all(
    dirs.map((d, i) => AgentProcess.start(o.names[i]!, d.dataDir, d.passphrase, o.env?.[o.names[i]!] ?? {})),
  );
  for (const holder of started) {
    const c = await connectAgents(issuer, holder);
    await holder.api<CredentialView>('POST', '/credentials/request', {
      connectionId: c.id,
      name: holder.name,
    });
  }
  await issuer.stop();
  const agents = Object.fromEntries(o.names.map((n, i) => [n, started[i]!])) as Record<N, AgentProcess>;
  return { chain, agents };
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
