// `npm run demo -- --cross-chain`: one channel with assets on two chains. Two embedded chains
// (chain IDs 31337 and 31338) get the Perun contracts; Alice holds ETH on chain A, Bob the PRN
// token on chain B. They open one channel with both assets and swap atomically in one update
// (Alice's ETH on A for Bob's PRN on B), pay a few times and settle on both chains, checked to
// the wei. Then, on a second channel, Bob registers an old state on chain B only; Alice's watcher
// refutes it there, registers the latest state on chain A too, and both chains settle at the
// latest state. The participants are ChannelClients in this process (the multi-ledger core,
// src/channels/multi), each with its own account on both chains; the agent's REST API does not
// open cross-chain channels yet (docs/cross-chain.md).
import { Wallet, formatEther, parseEther } from 'ethers';
import { ChannelClient } from '../src/channels/client.js';
import type { ClientEvent } from '../src/channels/client/types.js';
import { ethereumBackend } from '../src/channels/ethereum/backend.js';
import { parseEthereumConfig, type EthereumConfig } from '../src/channels/ethereum/config.js';
import { erc20Contract } from '../src/channels/ethereum/contracts.js';
import type { EmbeddedChain } from '../src/channels/ethereum/embedded-chain.js';
import { ethAsset, ETH_BACKEND_ID } from '../src/channels/ethereum/encoding.js';
import { ethereumLedger } from '../src/channels/ethereum/ledger.js';
import { EthereumSigner } from '../src/channels/ethereum/signer.js';
import { TxSender } from '../src/channels/ethereum/tx.js';
import {
  Ledgers,
  MultiLedgerAdjudicator,
  MultiLedgerFunder,
  MultiLedgerWatcher,
} from '../src/channels/multi/index.js';
import { MemoryChannelStore } from '../src/channels/persistence/memory-store.js';
import type { State } from '../src/channels/types.js';
import type { RefutationReport } from '../src/channels/watcher.js';
import { MemoryBus } from '../src/channels/wire/memory.js';
import { faucet } from '../src/agent/node/chain.js';
import { runChains } from '../src/agent/node/run-chains.js';
import type { Outcome } from './stage.js';

const E = parseEther('1');
const CHALLENGE = 60n;

interface Chain {
  config: EthereumConfig;
  chain: EmbeddedChain;
  /** ETH on A, PRN on B. */
  holder: string;
}

interface Person {
  name: string;
  client: ChannelClient;
  store: MemoryChannelStore;
  adjudicator: MultiLedgerAdjudicator;
  watcher?: MultiLedgerWatcher;
  refutations: Array<RefutationReport & { chainID: bigint }>;
  /** What the person's receivers hold: ETH on A, PRN on B. */
  received(): Promise<[bigint, bigint]>;
}

const prn = (units: bigint) => `${formatEther(units)} PRN`;
const eth = (units: bigint) => `${formatEther(units)} ETH`;

/** The first event of `p` that matches from now on, or undefined after `ms`. */
function waitFor(
  p: Person,
  match: (e: ClientEvent) => boolean,
  ms = 30_000,
): Promise<ClientEvent | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      p.client.off('event', on);
      resolve(undefined);
    }, ms);
    const on = (e: ClientEvent) => {
      if (!match(e)) return;
      clearTimeout(timer);
      p.client.off('event', on);
      resolve(e);
    };
    p.client.on('event', on);
  });
}

export async function crossChainStory(json: boolean): Promise<Outcome> {
  const say = (line = '') => {
    if (!json) console.log(line);
  };
  const running = await runChains({ count: 2 });
  const people: Person[] = [];
  try {
    const chains: Chain[] = running.chains.map((r, i) => {
      const config = parseEthereumConfig(r.config);
      const holder = i === 0 ? config.assetHolderETH : Object.values(config.assetHoldersERC20)[0]!;
      return { config, chain: r.chain, holder };
    });
    const [a, b] = chains as [Chain, Chain];
    say(
      `chain A: chain ID ${a.config.chainId} on ${a.chain.url}; chain B: chain ID ${b.config.chainId} on ${b.chain.url}`,
    );
    say('  each has the Perun contracts; chain B also the PRN token and its asset holder');
    const bus = new MemoryBus();
    const token = Object.keys(b.config.assetHoldersERC20)[0]!;

    const person = (name: string, account: number, watch: boolean): Person => {
      const signer = EthereumSigner.random();
      const receivers = chains.map(() => Wallet.createRandom().address);
      const ledgers = new Ledgers(
        chains.map((c, i) =>
          ethereumLedger({
            chainId: c.config.chainId,
            tx: new TxSender(c.chain.wallet(account)),
            adjudicator: c.config.adjudicator,
            signer,
            receiver: receivers[i],
            pollIntervalMs: 50,
          }),
        ),
      );
      const refutations: Person['refutations'] = [];
      const watcher = watch
        ? new MultiLedgerWatcher({ ledgers, pollIntervalMs: 50, onRefutation: (r) => refutations.push(r) })
        : undefined;
      const store = new MemoryChannelStore();
      const adjudicator = new MultiLedgerAdjudicator(ledgers);
      const client = new ChannelClient({
        wire: bus.connect(name),
        signer,
        backend: ethereumBackend,
        funder: new MultiLedgerFunder(ledgers),
        adjudicator,
        store,
        watcher,
        chainPollMs: 50,
        onProposal: () => ({ accept: true }),
        onUpdate: ({ channel, current, next }) =>
          agreed(channel.idx, current, next) ? { accept: true } : { accept: false, reason: 'not agreed' },
      });
      const erc20 = erc20Contract(token, b.chain.provider());
      const p: Person = {
        name,
        client,
        store,
        adjudicator,
        watcher,
        refutations,
        received: async () => [
          await a.chain.provider().getBalance(receivers[0]!),
          (await erc20.getFunction('balanceOf').staticCall(receivers[1]!)) as bigint,
        ],
      };
      people.push(p);
      return p;
    };
    /** The swap Bob agreed to on the first update; afterwards, updates that lower none of our balances. */
    let swap: bigint[][] | undefined;
    const agreed = (idx: number, current: State, next: State): boolean =>
      swap !== undefined && current.version === 0n
        ? next.outcome.balances.every((row, x) => row.every((v, i) => v === swap![x]![i]))
        : next.outcome.balances.every((row, x) => row[idx]! >= current.outcome.balances[x]![idx]!);

    const alice = person('alice', 1, true);
    const bob = person('bob', 2, false);
    await Promise.all(people.map((p) => p.client.start()));
    await faucet({ chain: b.config, address: b.chain.wallet(2).address, amount: 1000n * E, token: 'PRN' });
    say(`Alice has ETH on chain A; Bob has ${prn(1000n * E)} on chain B`);

    const allocation = (ethBals: bigint[], prnBals: bigint[]) => ({
      assets: [ethAsset(a.config.chainId, a.holder), ethAsset(b.config.chainId, b.holder)],
      backends: [ETH_BACKEND_ID, ETH_BACKEND_ID],
      balances: [ethBals, prnBals],
      locked: [],
    });
    const open = async (ethBals: bigint[], prnBals: bigint[]) => {
      const info = await alice.client.proposeChannel({
        peer: 'bob',
        peerAddress: bob.client.address,
        allocation: allocation(ethBals, prnBals),
        challengeDuration: CHALLENGE,
      });
      return info.id;
    };

    say(`\nOne channel, two chains: Alice deposits ${eth(5n * E)} on A, Bob ${prn(500n * E)} on B`);
    swap = [
      [3n * E, 2n * E],
      [200n * E, 300n * E],
    ];
    const first = await open([5n * E, 0n], [0n, 500n * E]);
    await alice.client.update(first, (s) => ({
      ...s,
      version: s.version + 1n,
      outcome: { ...s.outcome, balances: swap! },
    }));
    swap = undefined;
    say(`  atomic swap in one update: Alice's ${eth(2n * E)} on A for Bob's ${prn(200n * E)} on B`);
    for (let i = 0; i < 3; i++) await alice.client.sendPayment(first, E / 10n, 0);
    for (let i = 0; i < 2; i++) await bob.client.sendPayment(first, 5n * E, 1);
    const end = alice.client.channel(first).state!;
    say(`  Alice pays 0.1 ETH three times, Bob pays 5 PRN twice: version ${end.version}`);
    const [ethBals, prnBals] = end.outcome.balances as [bigint[], bigint[]];
    say(
      `  Alice: ${eth(ethBals[0]!)} and ${prn(prnBals[0]!)}; Bob: ${eth(ethBals[1]!)} and ${prn(prnBals[1]!)}`,
    );
    const closed = await alice.client.settle(first);
    const bobClosed = await bob.client.settlement(first);
    const afterClose = [await alice.received(), await bob.received()];
    const settled =
      afterClose[0]![0] === ethBals[0] &&
      afterClose[0]![1] === prnBals[0] &&
      afterClose[1]![0] === ethBals[1] &&
      afterClose[1]![1] === prnBals[1] &&
      closed.length === 2 &&
      bobClosed?.length === 2;
    say(`  closed: concluded and withdrawn on both chains, ${settled ? 'checked to the wei' : 'MISMATCH'}`);

    say('\nA second channel; this time Bob cheats on chain B');
    const second = await open([E, E], [0n, 100n * E]);
    await alice.client.sendPayment(second, E / 2n, 0);
    const old = (await bob.store.getChannel(second))!.current!;
    say(`  Alice pays Bob 0.5 ETH; Bob keeps that state (version ${old.state.version})`);
    await bob.client.sendPayment(second, 50n * E, 1);
    const latest = alice.client.channel(second).state!;
    say(`  Bob pays Alice 50 PRN: version ${latest.version}`);
    const params = alice.client.channel(second).params;
    const bobB = ethereumLedger({
      chainId: b.config.chainId,
      tx: new TxSender(b.chain.wallet(9)),
      adjudicator: b.config.adjudicator,
      signer: EthereumSigner.random(),
    });
    say(`Bob registers version ${old.state.version} on chain B only, where it gives him 50 PRN more`);
    await bobB.adjudicator.register({ params, state: old.state, sigs: [...old.sigs] });
    await waitFor(
      alice,
      (e) => e.type === 'registered' && e.channelId === second && e.by === 'chain',
      20_000,
    );
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const d = await alice.adjudicator.disputes(second);
      if (d.every((x) => x.stage === 'dispute' && x.version === latest.version)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const refutedOnB = alice.refutations.some(
      (r) => r.chainID === b.config.chainId && r.outcome === 'refuted' && r.latestVersion === latest.version,
    );
    say(`  Alice's watcher refutes it on chain B and registers version ${latest.version} on chain A as well`);
    say(`  the challenge (${CHALLENGE} s) passes on each chain, by its own clock`);
    await Promise.all(chains.map((c) => c.chain.increaseTime(CHALLENGE + 1n)));
    const aliceOut = await Promise.race([
      alice.client.settlement(second),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000).unref()),
    ]);
    const bobOut = await bob.adjudicator.withdraw(params, latest, 1).catch(() => []);
    const [want0, want1] = latest.outcome.balances as [bigint[], bigint[]];
    const refuted =
      refutedOnB &&
      aliceOut?.[0]?.amount === want0[0] &&
      aliceOut?.[1]?.amount === want1[0] &&
      bobOut[0]?.amount === want0[1] &&
      bobOut[1]?.amount === want1[1];
    say(`  both chains settle at version ${latest.version}: ${refuted ? 'checked to the wei' : 'MISMATCH'}`);

    const [al, bo] = [await alice.received(), await bob.received()];
    say(
      `\nreceived in all: Alice ${eth(al[0])} on A and ${prn(al[1])} on B; Bob ${eth(bo[0])} on A and ${prn(bo[1])} on B`,
    );
    return {
      ok: settled && refuted,
      report: {
        settled,
        refuted,
        chains: chains.map((c) => Number(c.config.chainId)),
        swaps: 1,
        payments: 5,
        alice_eth_chain_a: formatEther(al[0]),
        alice_prn_chain_b: formatEther(al[1]),
        bob_eth_chain_a: formatEther(bo[0]),
        bob_prn_chain_b: formatEther(bo[1]),
      },
    };
  } finally {
    await Promise.all(people.map((p) => p.client.close()));
    await Promise.all(people.map((p) => p.watcher?.close()));
    await running.stop();
  }
}
