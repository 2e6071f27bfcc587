// Example for `perun-agent/channels` with `perun-agent/ethereum`: two ChannelClients on the
// in-memory wire and an embedded Ethereum chain open a channel, pay each other, and settle it
// cooperatively. Run: `npm run build && node dist/examples/ethereum.js`.
import { Wallet, formatEther, parseEther } from 'ethers';
import { ChannelClient, MemoryBus, MemoryChannelStore, type ClientEvent } from 'perun-agent/channels';
import {
  ETH_BACKEND_ID,
  EmbeddedChain,
  EthereumAdjudicator,
  EthereumAdjudicatorAdapter,
  EthereumFunder,
  EthereumSigner,
  TxSender,
  deployContracts,
  ethAsset,
  ethereumBackend,
} from 'perun-agent/ethereum';

const chain = await EmbeddedChain.start();
const clients: ChannelClient[] = [];
try {
  const contracts = await deployContracts(chain.wallet(0));
  const bus = new MemoryBus();

  // One participant: a chain account that pays for deposits and transactions, a key that signs
  // its channel states (and receives its withdrawals), a store, and its end of the wire.
  const participant = async (account: number, name: string) => {
    const tx = new TxSender(new Wallet(chain.accounts[account]!.privateKey, chain.provider()));
    const signer = EthereumSigner.random();
    const client = new ChannelClient({
      wire: bus.connect(name),
      signer,
      backend: ethereumBackend,
      funder: new EthereumFunder(tx),
      adjudicator: new EthereumAdjudicatorAdapter(new EthereumAdjudicator(tx, contracts.adjudicator), signer),
      store: new MemoryChannelStore(),
      onProposal: () => ({ accept: true }),
      chainPollMs: 50,
      concludeWaitMs: 500,
    });
    clients.push(client);
    await client.start();
    return { client, signer };
  };
  const alice = await participant(1, 'alice');
  const bob = await participant(2, 'bob');

  const opened = new Promise<void>((resolve) =>
    bob.client.on('event', (e: ClientEvent) => e.type === 'opened' && resolve()),
  );
  const { id } = await alice.client.proposeChannel({
    peer: 'bob',
    peerAddress: bob.signer.address,
    allocation: {
      assets: [ethAsset(contracts.chainId, contracts.assetHolderETH)],
      backends: [ETH_BACKEND_ID],
      balances: [[parseEther('2'), parseEther('1')]],
      locked: [],
    },
    challengeDuration: 60n,
  });
  await opened;
  console.log(`channel ${id} open: alice 2 ETH, bob 1 ETH`);

  await alice.client.sendPayment(id, parseEther('0.5'));
  await bob.client.sendPayment(id, parseEther('0.2'));
  const [ours, theirs] = alice.client.channel(id).state!.outcome.balances[0]!;
  console.log(`after two payments: alice ${formatEther(ours!)} ETH, bob ${formatEther(theirs!)} ETH`);

  const withdrawn = await alice.client.settle(id);
  await bob.client.settlement(id);
  console.log(`settled: alice withdrew ${formatEther(withdrawn[0]!.amount)} ETH`);
} finally {
  await Promise.all(clients.map((c) => c.close()));
  await chain.stop();
}
