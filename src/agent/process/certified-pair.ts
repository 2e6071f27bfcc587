// Two certified agent processes, for the benchmarks and end-to-end tests that run them: a chain
// file, an Issuer process that certifies Alice and Bob over DIDComm (credential request, address
// proof, issue-credential v2) and stops, then Alice and Bob running with the policy that trusts
// it, so every channel they open is gated as in real use.
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

/**
 * Starts the chain (its file in `root`) and Alice and Bob with credentials of an Issuer they
 * trust; each gets `fundEth` on chain. The caller stops the processes (stopAllProcesses) and
 * the chain, also when this throws after the chain started (`onChain` hands it over first).
 * `env` adds environment variables to Alice's and Bob's processes (kept across restarts).
 */
export async function certifiedPair(o: {
  root: string;
  fundEth: string;
  config?: Partial<AgentConfigFile>;
  onChain: (chain: RunningChain) => void;
  env?: { alice?: Record<string, string>; bob?: Record<string, string> };
}): Promise<CertifiedPair> {
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
  const dirs = await Promise.all([
    initAgentDir(o.root, 'Alice', policy),
    initAgentDir(o.root, 'Bob', policy),
  ]);
  for (const d of dirs) await faucet({ chain: config, address: d.address, amount: parseEther(o.fundEth) });
  const [alice, bob] = (await Promise.all(
    dirs.map((d, i) =>
      AgentProcess.start(
        i === 0 ? 'Alice' : 'Bob',
        d.dataDir,
        d.passphrase,
        (i === 0 ? o.env?.alice : o.env?.bob) ?? {},
      ),
    ),
  )) as [AgentProcess, AgentProcess];
  for (const holder of [alice, bob]) {
    const c = await connectAgents(issuer, holder);
    await holder.api<CredentialView>('POST', '/credentials/request', {
      connectionId: c.id,
      name: holder.name,
    });
  }
  await issuer.stop();
  return { chain, alice, bob };
}
