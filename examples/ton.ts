// Example for `perun-agent/channels` with `perun-agent/ton`: two ChannelClients on the in-memory
// wire and a sandbox TON chain with the Perun contract open a channel in Toncoin, pay each other,
// and settle it cooperatively. Run: `npm run build && node dist/examples/ton.js`.
import { ChannelClient, MemoryBus, MemoryChannelStore, type ClientEvent } from 'perun-agent/channels';
import { SandboxTonChain, TON_BACKEND_ID, TonSigner, tonAsset, tonEnvironment } from 'perun-agent/ton';

const TON = 1_000_000_000n;
const ton = (nano: bigint) => `${Number(nano) / Number(TON)} TON`;

const chain = await SandboxTonChain.create();
const perun = await chain.deployPerun();
const bus = new MemoryBus();
const clients: ChannelClient[] = [];
try {
  // One participant: a TON wallet that sends its contract calls, an Ed25519 key that signs its
  // channel states, a store, and its end of the wire.
  const participant = async (name: string) => {
    const env = tonEnvironment(chain, perun, TonSigner.random(), await chain.wallet(name), {
      pollIntervalMs: 20,
      eventPollMs: 20,
    });
    const client = new ChannelClient({
      wire: bus.connect(name),
      signer: env.signer,
      backend: env.backend,
      funder: env.funder,
      adjudicator: env.adjudicator,
      store: new MemoryChannelStore(),
      onProposal: () => ({ accept: true }),
      chainPollMs: 20,
      concludeWaitMs: 500,
    });
    clients.push(client);
    await client.start();
    return { client, signer: env.signer };
  };
  const alice = await participant('alice');
  const bob = await participant('bob');

  const opened = new Promise<void>((resolve) =>
    bob.client.on('event', (e: ClientEvent) => e.type === 'opened' && resolve()),
  );
  const { id } = await alice.client.proposeChannel({
    peer: 'bob',
    peerAddress: bob.signer.address,
    allocation: {
      assets: [tonAsset(chain.chainID, perun)],
      backends: [TON_BACKEND_ID],
      balances: [[2n * TON, 1n * TON]],
      locked: [],
    },
    challengeDuration: 60n,
  });
  await opened;
  console.log(`channel ${id} open: alice 2 TON, bob 1 TON`);

  await alice.client.sendPayment(id, TON / 2n);
  await bob.client.sendPayment(id, TON / 5n);
  const [ours, theirs] = alice.client.channel(id).state!.outcome.balances[0]!;
  console.log(`after two payments: alice ${ton(ours!)}, bob ${ton(theirs!)}`);

  const withdrawn = await alice.client.settle(id);
  await bob.client.settlement(id);
  console.log(`settled: alice withdrew ${ton(withdrawn[0]!.amount)}`);
} finally {
  await Promise.all(clients.map((c) => c.close()));
}
