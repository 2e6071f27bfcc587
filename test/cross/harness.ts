// One embedded EVM chain and one TON sandbox in this process, the Perun contracts on each, and
// people with a key pair for both (CrossSigner), an Ethereum account, a TON wallet, fresh
// receivers on both chains, the Ethereum–TON ledgers under the multi-ledger Funder, Adjudicator
// and Watcher, and a ChannelClient on the in-process wire.
import { randomBytes } from 'node:crypto';
import { Address as TonAddress } from '@ton/core';
import { Wallet, parseEther } from 'ethers';
import { ChannelClient } from '../../src/channels/client.js';
import type { ChannelClientOptions, ClientEvent } from '../../src/channels/client/types.js';
import {
  CrossBackend,
  CrossSigner,
  crossEthereumLedger,
  crossTonLedger,
} from '../../src/channels/cross/index.js';
import { deployContracts, type Deployment } from '../../src/channels/ethereum/deploy.js';
import { EmbeddedChain } from '../../src/channels/ethereum/embedded-chain.js';
import { ethAsset, ETH_BACKEND_ID } from '../../src/channels/ethereum/encoding.js';
import { ethereumLedger } from '../../src/channels/ethereum/ledger.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import { TxSender } from '../../src/channels/ethereum/tx.js';
import {
  Ledgers,
  MultiLedgerAdjudicator,
  MultiLedgerFunder,
  MultiLedgerWatcher,
} from '../../src/channels/multi/index.js';
import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import { tonEnvironment } from '../../src/channels/ton/backend.js';
import { SandboxTonChain } from '../../src/channels/ton/chain.js';
import { tonAsset, TON_BACKEND_ID } from '../../src/channels/ton/encoding.js';
import { TonSigner } from '../../src/channels/ton/signer.js';
import type { Wire } from '../../src/channels/interfaces.js';
import type { ChannelMessage } from '../../src/channels/messages.js';
import type { Allocation } from '../../src/channels/types.js';
import type { RefutationReport } from '../../src/channels/watcher.js';
import { MemoryBus } from '../../src/channels/wire/memory.js';
import { open, until, useWorld } from '../multi/harness.js';

export { until };

export const ETH = parseEther('1');
export const TON = 1_000_000_000n;
export const EVM_CHAIN_ID = 31337n;

export interface Person {
  name: string;
  signer: CrossSigner;
  backend: CrossBackend;
  /** This person's Ethereum and TON ledgers (Ethereum–TON adapters). */
  ledgers: Ledgers;
  client: ChannelClient;
  store: MemoryChannelStore;
  watcher?: MultiLedgerWatcher;
  events: ClientEvent[];
  refutations: Array<RefutationReport & { chainID: bigint }>;
  receivers: { eth: string; ton: TonAddress };
  /** What this person's receivers got: wei on Ethereum, nanotons on TON. */
  received(): Promise<{ eth: bigint; ton: bigint }>;
}

export interface PersonOptions {
  watch?: boolean;
  onUpdate?: ChannelClientOptions['onUpdate'];
  /** Changes each message this person sends (a forger between them and the peer). */
  tamper?: (msg: ChannelMessage) => ChannelMessage;
  /** A restart of this (closed) person: the same keys, store and receivers, everything else new. */
  restartOf?: Person;
}

/** `wire` with every outgoing message passed through `tamper`. */
function tampered(wire: Wire, tamper: (msg: ChannelMessage) => ChannelMessage): Wire {
  return {
    id: wire.id,
    send: (peer, msg) => wire.send(peer, tamper(msg)),
    onMessage: (handler) => wire.onMessage(handler),
  };
}

export interface EthTon {
  evm: EmbeddedChain;
  deployment: Deployment;
  ton: SandboxTonChain;
  perun: TonAddress;
  bus: MemoryBus;
  person(name: string, o?: PersonOptions): Promise<Person>;
  /** ETH (asset 0) and Toncoin (asset 1), [asset][participant]. */
  allocation(eth: [bigint, bigint], ton: [bigint, bigint]): Allocation;
  /** Moves both chains' clocks forward. */
  advance(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

const TEST_TIMING = {
  responseTimeoutMs: 5_000,
  fundingTimeoutMs: 30_000,
  chainPollMs: 20,
  concludeWaitMs: 500,
};

export async function startEthTon(): Promise<EthTon> {
  const evm = await EmbeddedChain.start({ chainId: Number(EVM_CHAIN_ID), accounts: 6 });
  const deployment = await deployContracts(evm.wallet(0));
  const ton = await SandboxTonChain.create();
  const perun = await ton.deployPerun();
  const bus = new MemoryBus();
  const people: Person[] = [];
  let next = 1;
  return {
    evm,
    deployment,
    ton,
    perun,
    bus,
    async person(name, o = {}) {
      const account = next++;
      const old = o.restartOf;
      const signer = old?.signer ?? new CrossSigner(EthereumSigner.random(), TonSigner.random());
      const backend = new CrossBackend();
      const ethReceiver = old?.receivers.eth ?? Wallet.createRandom().address;
      const tonReceiver = old?.receivers.ton ?? new TonAddress(0, randomBytes(32));
      const tx = new TxSender(new Wallet(evm.accounts[account]!.privateKey, evm.provider()));
      const ethLedger = ethereumLedger({
        chainId: EVM_CHAIN_ID,
        tx,
        adjudicator: deployment.adjudicator,
        signer: signer.eth,
        receiver: ethReceiver,
        fundingTimeoutMs: 30_000,
        pollIntervalMs: 20,
      });
      const env = tonEnvironment(ton, perun, signer.ton, await ton.wallet(name), {
        timeoutMs: 30_000,
        pollIntervalMs: 20,
        eventPollMs: 20,
        receiver: tonReceiver,
      });
      const tonLedger = {
        chainID: ton.chainID,
        funder: env.funder,
        adjudicator: env.adjudicator,
        events: env.events,
      };
      const ledgers = new Ledgers([crossEthereumLedger(ethLedger), crossTonLedger(backend, tonLedger)]);
      const refutations: Person['refutations'] = [];
      const watcher =
        o.watch === true
          ? new MultiLedgerWatcher({ ledgers, pollIntervalMs: 20, onRefutation: (r) => refutations.push(r) })
          : undefined;
      const store = old?.store ?? new MemoryChannelStore();
      const client = new ChannelClient({
        wire: o.tamper === undefined ? bus.connect(name) : tampered(bus.connect(name), o.tamper),
        signer,
        backend,
        funder: new MultiLedgerFunder(ledgers),
        adjudicator: new MultiLedgerAdjudicator(ledgers),
        store,
        watcher,
        ...TEST_TIMING,
        onProposal: () => ({ accept: true }),
        onUpdate: o.onUpdate,
      });
      const p: Person = {
        name,
        signer,
        backend,
        ledgers,
        client,
        store,
        watcher,
        events: [],
        refutations,
        receivers: { eth: ethReceiver, ton: tonReceiver },
        received: async () => ({
          eth: await evm.provider().getBalance(ethReceiver),
          ton: await ton.balance(tonReceiver),
        }),
      };
      client.on('event', (e: ClientEvent) => p.events.push(e));
      people.push(p);
      await client.start();
      return p;
    },
    allocation: (eth, tonBals) => ({
      assets: [ethAsset(EVM_CHAIN_ID, deployment.assetHolderETH), tonAsset(ton.chainID, perun)],
      backends: [ETH_BACKEND_ID, TON_BACKEND_ID],
      balances: [[...eth], [...tonBals]],
      locked: [],
    }),
    async advance(seconds) {
      ton.advance(seconds);
      await evm.increaseTime(seconds);
    },
    async stop() {
      await Promise.all(people.map((p) => p.client.close()));
      await Promise.all(people.map((p) => p.watcher?.close()));
      await evm.stop();
    },
  };
}

/** Starts both chains before the file's tests and stops them after; the getter returns them. */
export const useEthTon = (): (() => EthTon) => useWorld(startEthTon);

/** Opens a channel from `a` to `b` (ETH and Toncoin balances) and waits until both have it open. */
export const openEthTon = (
  w: EthTon,
  a: Person,
  b: Person,
  eth: [bigint, bigint],
  ton: [bigint, bigint],
  challengeDuration = 60n,
): Promise<string> => open(w, a, b, eth, ton, challengeDuration, 45_000);
