// Two agent processes on two chains (`perun-agent chain --chains 2`'s pair, one chain file naming
// both): over REST, Alice opens one channel with her ETH on chain A and Bob's PRN on chain B, a
// channel on a chain the agents have no ledger for is refused and changes nothing, both pay in
// their asset, Alice restarts, and the cooperative close pays out on both chains, checked to the wei (each
// account's gas counted from the chain's own receipts). Then, on a second channel, Mallory
// registers one of its old states on chain B only; Alice's watcher refutes it there, and both
// chains pay out the latest state.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonRpcProvider, Wallet, getAddress, parseEther } from 'ethers';
import { parseEthereumConfig, type EthereumConfig } from '../../src/channels/ethereum/config.js';
import { erc20Contract } from '../../src/channels/ethereum/contracts.js';
import { ethereumLedger } from '../../src/channels/ethereum/ledger.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import { TxSender } from '../../src/channels/ethereum/tx.js';
import { paramsFromJson, stateFromJson } from '../../src/channels/json.js';
import { faucet } from '../../src/agent/node/chain.js';
import { runChains, type RunningChains } from '../../src/agent/node/run-chains.js';
import type {
  ChannelView,
  CredentialView,
  NodeEventWithId,
  PaymentView,
  ProposalView,
  SettlementView,
  SignedStateView,
} from '../../src/agent/node/types.js';
import {
  AgentProcess,
  connectAgents,
  stopAllProcesses,
  type ApiFailure,
} from '../../src/agent/process/agent-process.js';
import { startWorldAgent, trustingAgents } from '../../src/agent/process/certified-pair.js';

const ETH = 10n ** 18n;
const PRN = 10n ** 18n;

let root: string;
let running: RunningChains | undefined;
/** What the first scenario leaves for the second: the agents (Alice restarted), their connection and chains. */
let firstLeft:
  | {
      alice: AgentProcess;
      bob: AgentProcess;
      connectionId: string;
      chains: [EthereumConfig, EthereumConfig];
      prnToken: string;
      addresses: { alice: string; bob: string };
    }
  | undefined;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'cross-chain-agents-'));
});

afterAll(async () => {
  await stopAllProcesses();
  await running?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** What `address` paid in gas on the chain: every transaction it sent, from the chain's receipts. */
async function feesPaid(provider: JsonRpcProvider, address: string): Promise<bigint> {
  const head = await provider.getBlockNumber();
  let fees = 0n;
  for (let n = 0; n <= head; n++) {
    const block = await provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.from.toLowerCase() !== address.toLowerCase()) continue;
      fees += (await provider.getTransactionReceipt(tx.hash))!.fee;
    }
  }
  return fees;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('two agents on two chains open, pay in and settle a channel with ETH on A and PRN on B, to the wei', async () => {
  const chainFile = join(root, 'chains.json');
  running = await runChains({ count: 2, out: chainFile });
  const [a, b] = running.chains.map((c) => parseEthereumConfig(c.config)) as [EthereumConfig, EthereumConfig];
  const world = { root, chainFile, chain: running.chains[0]!, config: a };
  const prnToken = getAddress(Object.keys(b.assetHoldersERC20)[0]!);
  const issuer = await startWorldAgent(world, 'Issuer', { autoIssueSpendingLimit: '100' });
  const { dirs, agents } = await trustingAgents(world, issuer, {
    names: ['Alice', 'Bob'] as const,
    fundEth: '10',
    autoAcceptMaxFund: '100',
  });
  const { Alice: alice, Bob: bob } = agents;
  for (const holder of [alice, bob]) {
    const c = await connectAgents(issuer, holder);
    await holder.api<CredentialView>('POST', '/credentials/request', {
      connectionId: c.id,
      name: holder.name,
    });
  }
  await issuer.stop();
  // Gas on chain B for both, and Bob's PRN there.
  for (const d of [dirs.Alice, dirs.Bob])
    await faucet({ chain: b, address: d.address, amount: parseEther('10') });
  await faucet({ chain: b, address: dirs.Bob.address, amount: 100n * PRN, token: 'PRN' });
  expect(alice.info.assets.map((x) => `${x.symbol}@${x.chainId}`)).toEqual([
    'ETH@31337',
    'PRN@31337',
    'ETH@31338',
    'PRN@31338',
  ]);

  const conn = await connectAgents(bob, alice);
  // A chain the agents have no ledger for: a typed 400, and no channel.
  const refused = (await alice
    .api('POST', '/channels', {
      connectionId: conn.id,
      assets: [{ chainId: '31399', asset: 'ETH', fund: '1' }],
    })
    .catch((e: unknown) => e)) as ApiFailure;
  expect(refused).toMatchObject({
    status: 400,
    body: { code: 'UNKNOWN_CHAIN', details: { chainId: '31399', chains: ['31337', '31338'] } },
  });
  expect(await alice.api<ChannelView[]>('GET', '/channels')).toEqual([]);

  // Bob puts in tokens: his agent asks him (auto-accept never spends tokens).
  const opening = alice.api<ChannelView>('POST', '/channels', {
    connectionId: conn.id,
    assets: [
      { chainId: '31337', asset: 'ETH', fund: '2' },
      { chainId: '31338', asset: 'PRN', fund: '0', peerFund: '100' },
    ],
  });
  const proposal = await waitFor('Bob’s proposal', async () =>
    (await bob.api<ProposalView[]>('GET', '/proposals')).find((p) => p.status === 'pending'),
  );
  expect(proposal.assets).toEqual([
    { chainId: '31337', asset: 'ETH', ourFund: '0', peerFund: '2' },
    { chainId: '31338', asset: 'PRN', ourFund: '100', peerFund: '0' },
  ]);
  await bob.api('POST', `/proposals/${proposal.id}/accept`);
  const channel = await opening;
  expect(channel.assets).toEqual([
    { chainId: '31337', asset: 'ETH', ourBalance: '2', theirBalance: '0' },
    { chainId: '31338', asset: 'PRN', token: prnToken, ourBalance: '0', theirBalance: '100' },
  ]);

  const paid = await alice.api<PaymentView>('POST', `/channels/${channel.id}/payments`, {
    amount: '0.5',
    asset: 'ETH',
  });
  expect(paid).toMatchObject({ asset: 'ETH', chainId: '31337', ourBalance: '1.5', theirBalance: '0.5' });
  const back = await bob.api<PaymentView>('POST', `/channels/${channel.id}/payments`, {
    amount: '10',
    asset: 'PRN',
    chainId: '31338',
  });
  expect(back).toMatchObject({ asset: 'PRN', chainId: '31338', ourBalance: '90', theirBalance: '10' });
  const wrong = (await alice
    .api('POST', `/channels/${channel.id}/payments`, { amount: '1', asset: 'PRN', chainId: '31337' })
    .catch((e: unknown) => e)) as ApiFailure;
  expect(wrong).toMatchObject({ status: 400, body: { code: 'UNSUPPORTED_ASSET' } });
  const viewed = await waitFor('Alice’s view of Bob’s payment', async () => {
    const c = await alice.api<ChannelView>('GET', `/channels/${channel.id}`);
    return c.version === back.version ? c : undefined;
  });
  expect(viewed.assets!.map((x) => [x.chainId, x.asset, x.ourBalance, x.theirBalance])).toEqual([
    ['31337', 'ETH', '1.5', '0.5'],
    ['31338', 'PRN', '10', '90'],
  ]);

  // Alice restarts: the channel comes back from her database, on both chains.
  await alice.stop();
  const again = await AgentProcess.start('Alice', dirs.Alice.dataDir, dirs.Alice.passphrase);
  expect((await again.api<ChannelView>('GET', `/channels/${channel.id}`)).assets).toEqual(viewed.assets);
  const settled = await again.api<SettlementView>('POST', `/channels/${channel.id}/close`);
  expect(settled.withdrawn.map((w) => [w.chainId, w.asset, w.amount])).toEqual([
    ['31337', 'ETH', '1.5'],
    ['31338', 'PRN', '10'],
  ]);
  await waitFor('Bob’s side closed', async () => {
    const c = await bob.api<ChannelView>('GET', `/channels/${channel.id}`);
    return c.status === 'closed' ? c : undefined;
  });

  const providers = [a, b].map(
    (c) => new JsonRpcProvider(c.rpcUrl, Number(c.chainId), { staticNetwork: true }),
  );
  try {
    const [pa, pb] = providers as [JsonRpcProvider, JsonRpcProvider];
    const eth = async (p: JsonRpcProvider, address: string) =>
      (await p.getBalance(address)) + (await feesPaid(p, address));
    const prn = async (address: string) =>
      (await erc20Contract(prnToken, pb).getFunction('balanceOf').staticCall(address)) as bigint;
    const [al, bo] = [dirs.Alice.address, dirs.Bob.address];
    // Chain A: Alice put in 2 ETH and got 1.5 back, Bob got 0.5; chain B: Bob put in 100 PRN, got 90, Alice 10.
    expect(await eth(pa, al)).toBe(10n * ETH - ETH / 2n);
    expect(await eth(pa, bo)).toBe(10n * ETH + ETH / 2n);
    expect(await eth(pb, al)).toBe(10n * ETH);
    expect(await eth(pb, bo)).toBe(10n * ETH);
    expect(await prn(al)).toBe(10n * PRN);
    expect(await prn(bo)).toBe(90n * PRN);
    const balance = await again.api<{ chains?: { chainId: string; tokens: { inChannels: string }[] }[] }>(
      'GET',
      '/balance',
    );
    expect(balance.chains?.map((c) => c.chainId)).toEqual(['31337', '31338']);
  } finally {
    for (const p of providers) p.destroy();
  }
  firstLeft = {
    alice: again,
    bob,
    connectionId: conn.id,
    chains: [a, b],
    prnToken,
    addresses: { alice: dirs.Alice.address, bob: dirs.Bob.address },
  };
}, 240_000);

test('Mallory registers an old state on chain B only; Alice’s agent refutes it there and both chains pay the latest', async () => {
  const { alice, bob, connectionId, chains, prnToken, addresses } = firstLeft!;
  const [a, b] = chains;
  const opening = alice.api<ChannelView>('POST', '/channels', {
    connectionId,
    challengeDuration: 3,
    assets: [
      { chainId: '31337', asset: 'ETH', fund: '1' },
      { chainId: '31338', asset: 'PRN', fund: '0', peerFund: '60' },
    ],
  });
  const proposal = await waitFor('Bob’s proposal', async () =>
    (await bob.api<ProposalView[]>('GET', '/proposals')).find((p) => p.status === 'pending'),
  );
  await bob.api('POST', `/proposals/${proposal.id}/accept`);
  const channel = await opening;
  await alice.api<PaymentView>('POST', `/channels/${channel.id}/payments`, { amount: '0.5', asset: 'ETH' });
  // The state Mallory keeps: Alice 0.5 ETH, Bob 0.5 ETH and all 60 PRN.
  const old = await bob.api<SignedStateView>('GET', `/channels/${channel.id}/signed-state`);
  const latest = await bob.api<PaymentView>('POST', `/channels/${channel.id}/payments`, {
    amount: '50',
    asset: 'PRN',
  });
  await waitFor('Alice’s view of the latest state', async () => {
    const c = await alice.api<ChannelView>('GET', `/channels/${channel.id}`);
    return c.version === latest.version ? c : undefined;
  });

  const mallory = Wallet.createRandom();
  await faucet({ chain: b, address: mallory.address, amount: parseEther('1') });
  const provider = new JsonRpcProvider(b.rpcUrl, Number(b.chainId), { staticNetwork: true });
  try {
    const onB = ethereumLedger({
      chainId: b.chainId,
      tx: new TxSender(mallory.connect(provider)),
      adjudicator: b.adjudicator,
      signer: EthereumSigner.random(),
    });
    const settled = (who: AgentProcess) =>
      who.event<NodeEventWithId & { type: 'settled'; settlement: SettlementView }>(
        (e) =>
          e.type === 'settled' && (e as { settlement?: SettlementView }).settlement?.channelId === channel.id,
      );
    const [aliceSettled, bobSettled] = [settled(alice), settled(bob)];
    await onB.adjudicator.register({
      params: paramsFromJson(old.params, 'params'),
      state: stateFromJson(old.state, 'state'),
      sigs: old.sigs as `0x${string}`[],
    });
    const within = <T>(what: string, p: Promise<T>) =>
      Promise.race([
        p,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`no ${what} within 60 s`)), 60_000).unref(),
        ),
      ]);
    const [ours, theirs] = [
      await within('settlement of Alice’s', aliceSettled),
      await within('settlement of Bob’s', bobSettled),
    ];
    const paid = (s: SettlementView) => s.withdrawn.map((w) => [w.chainId, w.asset, w.amount]);
    expect(paid(ours.settlement)).toEqual([
      ['31337', 'ETH', '0.5'],
      ['31338', 'PRN', '50'],
    ]);
    expect(paid(theirs.settlement)).toEqual([
      ['31337', 'ETH', '0.5'],
      ['31338', 'PRN', '10'],
    ]);
    // On chain B the old state would have paid Bob all 60 PRN: the tokens show the latest won there.
    const prn = async (address: string) =>
      (await erc20Contract(prnToken, provider).getFunction('balanceOf').staticCall(address)) as bigint;
    expect(await prn(addresses.alice)).toBe(60n * PRN);
    expect(await prn(addresses.bob)).toBe(40n * PRN);
    expect(await prn(Object.values(b.assetHoldersERC20)[0]!)).toBe(0n);
    // Chain A: Alice put in 1 ETH more and got 0.5 back, Bob got 0.5 more (gas counted from receipts).
    const pa = new JsonRpcProvider(a.rpcUrl, Number(a.chainId), { staticNetwork: true });
    try {
      const eth = async (address: string) => (await pa.getBalance(address)) + (await feesPaid(pa, address));
      expect(await eth(addresses.alice)).toBe(9n * ETH);
      expect(await eth(addresses.bob)).toBe(11n * ETH);
    } finally {
      pa.destroy();
    }
  } finally {
    provider.destroy();
  }
}, 180_000);
