// Two embedded chains with different chain IDs, the Perun contracts on each (chain B also a test
// token and its asset holder), and people on both: one participant key for every chain, an
// account and a fresh receiver per chain, the multi-ledger Funder/Adjudicator/Watcher over their
// per-chain Ethereum objects, and a ChannelClient on the in-process wire.
import { Wallet, parseEther, type Contract } from 'ethers';
import { ChannelClient } from '../../src/channels/client.js';
import type { ChannelClientOptions, ClientEvent } from '../../src/channels/client/types.js';
import type { Funder } from '../../src/channels/interfaces.js';
import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import type { Allocation, Hex } from '../../src/channels/types.js';
import { MemoryBus } from '../../src/channels/wire/memory.js';
import { ethereumBackend } from '../../src/channels/ethereum/backend.js';
import { ethereumLedger } from '../../src/channels/ethereum/ledger.js';
import { erc20Contract } from '../../src/channels/ethereum/contracts.js';
import { deployContracts, type Deployment } from '../../src/channels/ethereum/deploy.js';
import { EmbeddedChain } from '../../src/channels/ethereum/embedded-chain.js';
import { ethAsset, ETH_BACKEND_ID, type Address } from '../../src/channels/ethereum/encoding.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import { TxSender } from '../../src/channels/ethereum/tx.js';
import {
  Ledgers,
  MultiLedgerAdjudicator,
  MultiLedgerFunder,
  MultiLedgerWatcher,
  type AlignmentReport,
  type Ledger,
} from '../../src/channels/multi/index.js';
import type { RefutationReport } from '../../src/channels/watcher.js';

export const CHAIN_IDS = [31337n, 31338n] as const;

export interface TestChain {
  chain: EmbeddedChain;
  deployment: Deployment;
  chainId: bigint;
  token?: Contract;
}

export interface Person {
  name: string;
  signer: EthereumSigner;
  /** This person's ledger on each chain, in CHAIN_IDS order. */
  ledgers: Ledger[];
  client: ChannelClient;
  watcher?: MultiLedgerWatcher;
  events: ClientEvent[];
  refutations: Array<RefutationReport & { chainID: bigint }>;
  alignments: AlignmentReport[];
  /** What the receiver holds of the channel's asset `asset` (0: ETH on A, 1: the token on B). */
  received(asset: number): Promise<bigint>;
}

export interface PersonOptions {
  watch?: boolean;
  /** A funder of the person's own in place of the multi-ledger one. */
  funder?: (ledgers: Ledger[]) => Funder;
  onUpdate?: ChannelClientOptions['onUpdate'];
}

export interface TwoChains {
  chains: [TestChain, TestChain];
  bus: MemoryBus;
  person(name: string, o?: PersonOptions): Promise<Person>;
  /** ETH on chain A and the token on chain B, [asset][participant]. */
  allocation(eth: [bigint, bigint], tok: [bigint, bigint]): Allocation;
  /** Moves both chain clocks forward by `seconds` (or one chain's, with `only`). */
  advance(seconds: number, only?: number): Promise<void>;
  stop(): Promise<void>;
}

export const TOKEN_SUPPLY = parseEther('1000');

/** Short waits: the chains answer at once. */
const TEST_TIMING = {
  responseTimeoutMs: 5_000,
  fundingTimeoutMs: 2_000,
  chainPollMs: 20,
  concludeWaitMs: 500,
};

/** Starts both chains with `accounts` dev accounts each (account 0 deploys, one more per person). */
export async function startTwoChains(accounts = 10): Promise<TwoChains> {
  const started = await Promise.all(
    CHAIN_IDS.map((id) => EmbeddedChain.start({ chainId: Number(id), accounts })),
  );
  const chains = (await Promise.all(
    started.map(async (chain, i) => {
      const deployment = await deployContracts(
        chain.wallet(0),
        i === 1 ? { testToken: { holders: chain.accounts.map((a) => a.address), supply: TOKEN_SUPPLY } } : {},
      );
      const token =
        deployment.token === undefined ? undefined : erc20Contract(deployment.token, chain.provider());
      return { chain, deployment, chainId: deployment.chainId, token };
    }),
  )) as [TestChain, TestChain];
  const bus = new MemoryBus();
  const people: Person[] = [];
  let next = 1;

  function ledger(c: TestChain, account: number, signer: EthereumSigner, receiver: Address): Ledger {
    const tx = new TxSender(new Wallet(c.chain.accounts[account]!.privateKey, c.chain.provider()));
    return ethereumLedger({
      chainId: c.chainId,
      tx,
      adjudicator: c.deployment.adjudicator,
      signer,
      receiver,
      fundingTimeoutMs: 5_000,
      pollIntervalMs: 20,
    });
  }

  return {
    chains,
    bus,
    async person(name, o = {}) {
      const account = next++;
      const signer = EthereumSigner.random();
      const receivers = chains.map(() => Wallet.createRandom().address);
      const ledgers = chains.map((c, i) => ledger(c, account, signer, receivers[i]!));
      const set = new Ledgers(ledgers);
      const refutations: Person['refutations'] = [];
      const alignments: AlignmentReport[] = [];
      const watcher =
        o.watch === true
          ? new MultiLedgerWatcher({
              ledgers: set,
              pollIntervalMs: 20,
              onRefutation: (r) => refutations.push(r),
              onAlignment: (r) => alignments.push(r),
            })
          : undefined;
      const client = new ChannelClient({
        wire: bus.connect(name),
        signer,
        backend: ethereumBackend,
        funder: o.funder?.(ledgers) ?? new MultiLedgerFunder(set),
        adjudicator: new MultiLedgerAdjudicator(set),
        store: new MemoryChannelStore(),
        watcher,
        ...TEST_TIMING,
        onProposal: () => ({ accept: true }),
        onUpdate: o.onUpdate,
      });
      const p: Person = {
        name,
        signer,
        ledgers,
        client,
        watcher,
        events: [],
        refutations,
        alignments,
        received: (asset) =>
          asset === 0
            ? chains[0].chain.provider().getBalance(receivers[0]!)
            : (chains[1].token!.getFunction('balanceOf').staticCall(receivers[1]!) as Promise<bigint>),
      };
      client.on('event', (e: ClientEvent) => p.events.push(e));
      people.push(p);
      await client.start();
      return p;
    },
    allocation: (eth, tok) => ({
      assets: [
        ethAsset(chains[0].chainId, chains[0].deployment.assetHolderETH),
        ethAsset(chains[1].chainId, chains[1].deployment.assetHolderERC20!),
      ],
      backends: [ETH_BACKEND_ID, ETH_BACKEND_ID],
      balances: [[...eth], [...tok]],
      locked: [],
    }),
    async advance(seconds, only) {
      await Promise.all(
        chains.filter((_, i) => only === undefined || i === only).map((c) => c.chain.increaseTime(seconds)),
      );
    },
    async stop() {
      await Promise.all(people.map((p) => p.client.close()));
      await Promise.all(people.map((p) => p.watcher?.close()));
      await Promise.all(chains.map((c) => c.chain.stop()));
    },
  };
}

/** Resolves once `check` holds (polled every 20 ms); fails after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The first event of `p` that matches, already seen or within 15 s. */
export async function waitFor(p: Person, match: (e: ClientEvent) => boolean): Promise<ClientEvent> {
  let hit: ClientEvent | undefined;
  await until(() => (hit = p.events.find(match)) !== undefined);
  return hit!;
}

/** Starts a world (chains and their people) before the file's tests and stops it after; the getter returns it. */
export function useWorld<W extends { stop(): Promise<void> }>(start: () => Promise<W>): () => W {
  let w: W | undefined;
  beforeAll(async () => {
    w = await start();
  }, 60_000);
  afterAll(() => w?.stop());
  return () => w!;
}

/** Starts the two chains before the file's tests and stops them after; the getter returns them. */
export const useTwoChains = (accounts?: number): (() => TwoChains) =>
  useWorld(() => startTwoChains(accounts));

/** A person as `open` needs one: the cc key is there on a channel of two backends. */
interface Opener {
  name: string;
  signer: { address: Address; ccAddress?: Hex };
  client: ChannelClient;
  events: ClientEvent[];
}

/**
 * Opens a channel from `a` to `b` with balances on the world's two assets and waits (up to
 * `waitMs`) until both have it open.
 */
export async function open(
  w: { allocation(first: [bigint, bigint], second: [bigint, bigint]): Allocation },
  a: Opener,
  b: Opener,
  first: [bigint, bigint],
  second: [bigint, bigint],
  challengeDuration = 60n,
  waitMs?: number,
): Promise<string> {
  const cc = b.signer.ccAddress;
  const info = await a.client.proposeChannel({
    peer: b.name,
    peerAddress: b.signer.address,
    ...(cc === undefined ? {} : { peerCcAddress: cc }),
    allocation: w.allocation(first, second),
    challengeDuration,
  });
  await until(() => b.events.some((e) => e.type === 'opened' && e.channelId === info.id), waitMs);
  return info.id;
}
