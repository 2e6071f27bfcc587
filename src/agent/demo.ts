// `npm run demo`: the life of a Perun channel between two channel clients on the embedded chain.
// Alice and Bob each run a ChannelClient with its own SQLite file and watcher, connected by the
// in-memory wire: Alice proposes a channel, both fund it, they pay each other, then Bob
// registers an old state that pays him more; Alice's watcher refutes it with the latest one, and
// after the challenge duration both clients conclude and withdraw exactly their last balances.
// With --json the last line is one JSON object. (The DIDComm agents arrive with issues C and D.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet, formatEther, parseEther } from 'ethers';
import { ChannelClient, type ClientEvent } from '../channels/client.js';
import { EthereumAdjudicator } from '../channels/ethereum/adjudicator.js';
import {
  EthereumAdjudicatorAdapter,
  EthereumEventSource,
  ethereumBackend,
} from '../channels/ethereum/backend.js';
import { deployContracts } from '../channels/ethereum/deploy.js';
import { EmbeddedChain } from '../channels/ethereum/embedded-chain.js';
import { ethAsset, ETH_BACKEND_ID } from '../channels/ethereum/encoding.js';
import { EthereumFunder } from '../channels/ethereum/funder.js';
import { EthereumSigner } from '../channels/ethereum/signer.js';
import { TxSender } from '../channels/ethereum/tx.js';
import { TypeOrmChannelStore } from '../channels/persistence/typeorm-store.js';
import type { State } from '../channels/types.js';
import { LocalWatcher } from '../channels/watcher.js';
import { MemoryBus } from '../channels/wire/memory.js';

interface Person {
  name: string;
  signer: EthereumSigner;
  receiver: string;
  client: ChannelClient;
  store: TypeOrmChannelStore;
  watcher: LocalWatcher;
  adjudicator: EthereumAdjudicator;
}

function nextEvent<T extends ClientEvent['type']>(
  p: Person,
  type: T,
  match: (e: Extract<ClientEvent, { type: T }>) => boolean = () => true,
): Promise<Extract<ClientEvent, { type: T }>> {
  return new Promise((resolve) => {
    const on = (e: ClientEvent) => {
      if (e.type === type && match(e as Extract<ClientEvent, { type: T }>)) {
        p.client.off('event', on);
        resolve(e as Extract<ClientEvent, { type: T }>);
      }
    };
    p.client.on('event', on);
  });
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const payments = Number(process.argv.find((a) => a.startsWith('--payments='))?.split('=')[1] ?? 200);
  const say = (line: string) => {
    if (!json) console.log(line);
  };
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'perun-demo-'));
  const chain = await EmbeddedChain.start();
  const people: Person[] = [];
  try {
    say(`embedded chain on ${chain.url} (chain ID ${chain.chainId})`);
    const d = await deployContracts(chain.wallet(0));
    say(`contracts: Adjudicator ${d.adjudicator}, AssetHolderETH ${d.assetHolderETH}`);
    const bus = new MemoryBus();
    const person = async (i: number, name: string): Promise<Person> => {
      const tx = new TxSender(new Wallet(chain.accounts[i]!.privateKey, chain.provider()));
      const signer = EthereumSigner.random();
      const receiver = Wallet.createRandom().address;
      const adjudicator = new EthereumAdjudicator(tx, d.adjudicator);
      const adapter = new EthereumAdjudicatorAdapter(adjudicator, signer, receiver);
      const store = await TypeOrmChannelStore.open(join(dir, `${name.toLowerCase()}.sqlite`));
      const watcher = new LocalWatcher({
        events: new EthereumEventSource(chain.provider(), d.adjudicator, { pollIntervalMs: 50 }),
        adjudicator: adapter,
        store,
        pollIntervalMs: 50,
      });
      const client = new ChannelClient({
        wire: bus.connect(name.toLowerCase()),
        signer,
        backend: ethereumBackend,
        funder: new EthereumFunder(tx, { pollIntervalMs: 20 }),
        adjudicator: adapter,
        store,
        watcher,
        chainPollMs: 20,
        onProposal: (p) => {
          say(
            `${name} accepts a channel from ${p.peer}: ${formatEther(p.allocation.balances[0]![1]!)} ETH from ${name}`,
          );
          return { accept: true };
        },
      });
      await client.start();
      const p = { name, signer, receiver, client, store, watcher, adjudicator };
      people.push(p);
      return p;
    };
    const alice = await person(1, 'Alice');
    const bob = await person(2, 'Bob');

    const table = async (title: string, s: State) => {
      const provider = chain.provider();
      say(`\n${title} (state version ${s.version})`);
      say(`  ${'party'.padEnd(6)} ${'in channel'.padStart(12)} ${'withdrawn'.padStart(12)}`);
      for (const [i, p] of [alice, bob].entries()) {
        const onChain = await provider.getBalance(p.receiver);
        say(
          `  ${p.name.padEnd(6)} ${formatEther(s.outcome.balances[0]![i]!).padStart(12)} ${formatEther(onChain).padStart(12)}`,
        );
      }
    };

    say('\nAlice proposes a channel to Bob, 10 ETH each');
    const bobOpened = nextEvent(bob, 'opened');
    const channel = await alice.client.proposeChannel({
      peer: 'bob',
      peerAddress: bob.signer.address,
      allocation: {
        assets: [ethAsset(d.chainId, d.assetHolderETH)],
        backends: [ETH_BACKEND_ID],
        balances: [[parseEther('10'), parseEther('10')]],
        locked: [],
      },
      challengeDuration: 60n,
    });
    await bobOpened;
    const id = channel.id;
    await table(`channel ${id.slice(0, 18)}… is funded and open`, alice.client.channel(id).state!);

    // Bob keeps a copy of the first payment's fully signed state to cheat with later.
    const amount = parseEther('0.01');
    await alice.client.sendPayment(id, amount);
    const stale = (await bob.store.getChannel(id))!.current!;
    const tp = performance.now();
    for (let i = 1; i < payments; i++) {
      if (i % 3 === 2) await bob.client.sendPayment(id, amount);
      else await alice.client.sendPayment(id, amount);
    }
    const paymentSeconds = (performance.now() - tp) / 1000;
    const latest = alice.client.channel(id).state!;
    await table(
      `${payments} payments, each signed by both and stored by both (${Math.round(payments / paymentSeconds)}/s)`,
      latest,
    );

    say(`\nBob registers the stale version ${stale.state.version}, which pays him more`);
    const aliceSaw = nextEvent(alice, 'phase', (e) => e.channelId === id && e.to === 'Registered');
    await bob.adjudicator.register({ params: channel.params, state: stale.state, sigs: stale.sigs });
    await aliceSaw;
    const dispute = await bob.client.channel(id);
    const onChainVersion = (await alice.adjudicator.dispute(id)).version;
    say(
      `Alice's watcher refutes it: the registered version is now ${onChainVersion} (Bob's client: ${dispute.phase})`,
    );

    say('after the challenge duration both clients conclude and withdraw');
    const bobSettled = nextEvent(bob, 'settled');
    await chain.increaseTime(61);
    await alice.client.settlement(id);
    await bobSettled;
    await table('settled', latest);

    const provider = chain.provider();
    const onChain = [await provider.getBalance(alice.receiver), await provider.getBalance(bob.receiver)];
    const settled =
      onChain[0] === latest.outcome.balances[0]![0] && onChain[1] === latest.outcome.balances[0]![1];
    say(
      `\n${settled ? 'settled: on-chain balances equal the last state' : 'NOT settled'} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    if (json) {
      console.log(
        JSON.stringify({
          ok: settled && onChainVersion === latest.version,
          settled,
          payments,
          payments_per_s: Math.round(payments / paymentSeconds),
          disputed_version: Number(stale.state.version),
          final_version: Number(latest.version),
          alice_eth: formatEther(onChain[0]!),
          bob_eth: formatEther(onChain[1]!),
        }),
      );
    }
    if (!settled) process.exitCode = 1;
  } finally {
    for (const p of people) {
      await p.client.close();
      await p.watcher.close();
      await p.store.close();
    }
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
