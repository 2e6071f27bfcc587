// Example for `perun-agent/agent` (with `perun-agent/client`): a whole agent in one process: a
// development chain, a fresh data directory, the agent started with its REST API, read through
// the typed client, then stopped. Run: `npm run build && node dist/examples/agent.js`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initAgent, loadAgentConfig, runChain, startAgent } from 'perun-agent/agent';
import { PerunAgentClient } from 'perun-agent/client';

const dir = mkdtempSync(join(tmpdir(), 'perun-example-'));
const chain = await runChain({ out: join(dir, 'chain.json') });
try {
  const dataDir = join(dir, 'alice');
  const passphrase = 'alice passphrase';
  const { token } = await initAgent({
    dataDir,
    label: 'Alice',
    passphrase,
    overrides: { chain: join(dir, 'chain.json') },
  });
  const agent = await startAgent(loadAgentConfig({ dataDir }), passphrase);
  const client = new PerunAgentClient({ url: agent.apiUrl, token });
  try {
    const info = await client.getInfo();
    console.log(`agent ${info.label} at ${agent.apiUrl}, address ${info.address}, chain ${info.chainId}`);
    const balance = await client.getBalance();
    console.log(`on chain ${balance.onChain} ETH, in ${balance.channels} channels ${balance.inChannels} ETH`);
  } finally {
    client.close();
    await agent.stop();
  }
} finally {
  await chain.stop();
  rmSync(dir, { recursive: true, force: true });
}
