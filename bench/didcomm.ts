// DIDComm benchmark: Alice's and Bob's Credo agents (our KMS and storage, HTTP on 127.0.0.1),
// each on its own durable SQLite file, connect by invitation, open one channel on the embedded
// chain over the Perun DIDComm protocol, then make N sequential payments. Both agents run in
// this one process (they share its two cores); the time of a payment is split into what the
// channel core spends (signing, checking, durable commits) and the rest, which is DIDComm:
// packing, HTTP, Credo's receive pipeline.
// Usage: npm run bench:didcomm [-- --payments N] [-- --json]   (--json: last line is one JSON object)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet, parseEther } from 'ethers';
import { createPerunAgent } from '../src/agent/credo/agent.js';
import { openAgentStore } from '../src/agent/datasource.js';
import { PerunKeyManagementService, TypeOrmKmsKeyStorage } from '../src/agent/kms/index.js';
import { ChannelClient } from '../src/channels/client.js';
import { EthereumAdjudicator } from '../src/channels/ethereum/adjudicator.js';
import { EthereumAdjudicatorAdapter, ethereumBackend } from '../src/channels/ethereum/backend.js';
import { deployContracts } from '../src/channels/ethereum/deploy.js';
import { EmbeddedChain } from '../src/channels/ethereum/embedded-chain.js';
import { ethAsset, ETH_BACKEND_ID } from '../src/channels/ethereum/encoding.js';
import { EthereumFunder } from '../src/channels/ethereum/funder.js';
import { EthereumSigner } from '../src/channels/ethereum/signer.js';
import { TxSender } from '../src/channels/ethereum/tx.js';
import { TypeOrmChannelStore } from '../src/channels/persistence/typeorm-store.js';
import {
  now,
  paymentsArg,
  timePayments,
  timedBackend,
  timedSigner,
  timedStore,
  type Timers,
} from './timing.js';

const timers: Timers = {};
const coreMs = () => timers['core'] ?? 0;

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const payments = paymentsArg(2_000);

  const dir = mkdtempSync(join(tmpdir(), 'perun-bench-didcomm-'));
  const chain = await EmbeddedChain.start();
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    const d = await deployContracts(chain.wallet(0));
    const make = async (i: number, name: string) => {
      const ds = await openAgentStore(join(dir, `${name}.sqlite`));
      cleanup.unshift(() => ds.destroy());
      const kms = await PerunKeyManagementService.open({
        storage: new TypeOrmKmsKeyStorage(ds),
        passphrase: name,
      });
      const agent = createPerunAgent({ label: name, dataSource: ds, kms });
      await agent.initialize();
      cleanup.unshift(() => agent.shutdown());
      const tx = new TxSender(new Wallet(chain.accounts[i]!.privateKey, chain.provider()));
      const key = new EthereumSigner(Wallet.createRandom().privateKey);
      const signer = timedSigner(key, timers, 'core');
      const backend = timedBackend(ethereumBackend, timers, 'core');
      const client = new ChannelClient({
        wire: agent.modules.perun.wire,
        signer,
        backend,
        funder: new EthereumFunder(tx),
        adjudicator: new EthereumAdjudicatorAdapter(new EthereumAdjudicator(tx, d.adjudicator), key),
        store: timedStore(new TypeOrmChannelStore(ds), timers, 'core'),
        onProposal: () => ({ accept: true }),
      });
      await client.start();
      cleanup.unshift(() => client.close());
      return { agent, client, key };
    };
    const alice = await make(1, 'alice');
    const bob = await make(2, 'bob');

    const tc = now();
    const oob = await alice.agent.didcomm.oob.createInvitation({ label: 'alice' });
    const { connectionRecord } = await bob.agent.didcomm.oob.receiveInvitationFromUrl(
      oob.outOfBandInvitation.toUrl({ domain: 'https://perun.example' }),
      { label: 'bob' },
    );
    await bob.agent.didcomm.connections.returnWhenIsConnected(connectionRecord!.id, { timeoutMs: 20_000 });
    const [pending] = await alice.agent.didcomm.connections.findAllByOutOfBandId(oob.id);
    const ab = await alice.agent.didcomm.connections.returnWhenIsConnected(pending!.id, {
      timeoutMs: 20_000,
    });
    const connectMs = now() - tc;

    const to = now();
    const opened = new Promise<void>((resolve) =>
      bob.client.on('event', (e: { type: string }) => e.type === 'opened' && resolve()),
    );
    const { id } = await alice.client.proposeChannel({
      peer: ab.theirDid!,
      peerAddress: bob.key.address,
      allocation: {
        assets: [ethAsset(d.chainId, d.assetHolderETH)],
        backends: [ETH_BACKEND_ID],
        balances: [[parseEther('10'), 0n]],
        locked: [],
      },
      challengeDuration: 3600n,
    });
    await opened;
    const openMs = now() - to;

    timers['core'] = 0;
    const { totalMs: total, figures } = await timePayments(payments, () => alice.client.sendPayment(id, 1n));
    const result = {
      ...figures,
      open_ms: Math.round(openMs),
      connect_ms: Math.round(connectMs),
      processes: 1,
      credential_gating: false,
    };
    const per = (ms: number) =>
      `${(ms / payments).toFixed(2)} ms  ${((ms / total) * 100).toFixed(0).padStart(3)}%`;
    console.log(
      `connection by invitation: ${result.connect_ms} ms; channel open (proposal + funding): ${result.open_ms} ms`,
    );
    console.log(
      `${payments} payments over DIDComm in ${(total / 1000).toFixed(2)} s: ${result.payments_per_s} payments/s`,
    );
    console.log(`latency p50 ${result.p50_ms} ms, p95 ${result.p95_ms} ms, p99 ${result.p99_ms} ms`);
    console.log('where a payment’s time goes (both agents, per payment):');
    console.log(`  channel core: signing, checks, durable commits  ${per(coreMs())}`);
    console.log(`  DIDComm: pack/unpack, HTTP, Credo pipeline      ${per(total - coreMs())}`);
    if (json) console.log(JSON.stringify(result));
  } finally {
    for (const c of cleanup) await c().catch(() => undefined);
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
