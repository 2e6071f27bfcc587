// `npm run demo`: three agents as separate processes on loopback, as a user would run them. The
// embedded chain starts and gets the Perun contracts; an Issuer, Alice and Bob start with their
// own SQLite files and REST APIs. The Issuer certifies Alice and Bob (peer credentials binding
// their DIDs to their Ethereum addresses); Alice accepts Bob's invitation and opens a channel that
// both agents admit only after checking each other's credential; they stream payments both ways
// and close cooperatively. Then Bob cheats on a second channel: the state he registers on chain
// is old, Alice's watcher refutes it with the latest one, and the chain pays both exactly the
// latest balances. Every step is driven through the agents' REST APIs.
// `npm run demo -- --app`: the pay-for-credential app channel instead. The Issuer certifies itself
// and Alice, offers her a credential for a price, and Alice buys it: her app channel locks the
// price, the Issuer's answer reveals its signature over the credential and takes the price, and the
// final state settles on chain.
// `npm run demo -- --virtual`: a virtual channel. Alice and Bob each open a ledger channel with
// Ingrid (an intermediary by her config); Alice opens a virtual channel with Bob through her, pays
// him directly, and the virtual channel closes back into both ledger channels with Ingrid neutral
// (her two ledger channels hold what she put in); both ledger channels settle on chain.
// Usage: npm run demo [-- --payments N] [-- --no-dispute] [-- --json]
//        npm run demo -- --app [--json]
//        npm run demo -- --virtual [--payments N] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEther, parseEther, type JsonRpcProvider } from 'ethers';
import { paramsFromJson, stateFromJson } from '../channels/json.js';
import { EthereumAdjudicator } from '../channels/ethereum/adjudicator.js';
import { credentialDigest, verifyCredentialSignature } from '../channels/ethereum/apps/credential-payment.js';
import { parseEthereumConfig, type EthereumConfig } from '../channels/ethereum/config.js';
import { TxSender } from '../channels/ethereum/tx.js';
import type { AgentConfigFile } from './node/config.js';
import { faucet, runChain, type RunningChain } from './node/chain.js';
import type {
  BalanceView,
  ChannelView,
  ConnectionView,
  CredentialSaleView,
  CredentialView,
  NodeEventWithId,
  SettlementView,
  SignedCredentialView,
  SignedStateView,
} from './node/types.js';
import { AgentProcess, connectAgents, initAgentDir, stopAllProcesses } from './process/agent-process.js';
import { gasSpent } from './process/gas.js';

const json = process.argv.includes('--json');
const appStory = process.argv.includes('--app');
const virtualStory = process.argv.includes('--virtual');
const dispute = !process.argv.includes('--no-dispute');
/** `--payments N` or `--payments=N`; default 200 (50 in the virtual story). */
function paymentsOption(): number {
  const i = process.argv.findIndex((a) => a === '--payments' || a.startsWith('--payments='));
  if (i < 0) return virtualStory ? 50 : 200;
  const arg = process.argv[i]!;
  return Number(arg.includes('=') ? arg.split('=')[1] : process.argv[i + 1]);
}
const payments = paymentsOption();
/** What the Issuer asks for the credential it sells in the app story, ETH. */
const PRICE = '0.05';
/**
 * The virtual story, ETH: what each puts into the ledger channels with Ingrid and into the virtual
 * channel, what each of Alice's payments over it is worth and what Bob pays back once.
 */
const V = {
  aliceLedger: '2',
  ingridWithAlice: '2',
  bobLedger: '1',
  ingridWithBob: '2',
  aliceVirtual: '1',
  bobVirtual: '0.2',
  payment: '0.01',
  payBack: '0.1',
};
/** Wei as ETH, written as the agents' API writes amounts ("2", not "2.0"). */
const eth = (wei: bigint) => formatEther(wei).replace(/\.0$/, '');
/** The most payments of V.payment that Alice's side of the virtual channel holds. */
const MAX_VIRTUAL_PAYMENTS = Number(parseEther(V.aliceVirtual) / parseEther(V.payment));
const say = (line = '') => {
  if (!json) console.log(line);
};

type SettledEvent = NodeEventWithId & { type: 'settled' };
type SaleEvent = NodeEventWithId & { type: 'credential-sale' };

/** The embedded chain with the Perun contracts, and the folder the agents keep their data in. */
interface Stage {
  root: string;
  chainFile: string;
  chain: RunningChain;
  config: EthereumConfig;
  provider: JsonRpcProvider;
}

/** How a story ended: whether it went right, and what `--json` reports besides `ok` and `seconds`. */
interface Outcome {
  ok: boolean;
  report: Record<string, unknown>;
}

async function table(title: string, people: AgentProcess[], channelId?: string): Promise<void> {
  if (json) return;
  say(`\n${title}`);
  say(`  ${'agent'.padEnd(7)} ${'in channel'.padStart(12)} ${'on chain'.padStart(22)}`);
  for (const p of people) {
    const balance = await p.api<BalanceView>('GET', '/balance');
    const channel =
      channelId === undefined ? undefined : await p.api<ChannelView>('GET', `/channels/${channelId}`);
    const inChannel = channel === undefined || channel.phase === 'Withdrawn' ? '-' : channel.ourBalance;
    say(`  ${p.name.padEnd(7)} ${inChannel.padStart(12)} ${balance.onChain.padStart(22)}`);
  }
}

/** Each agent's on-chain balance (ETH), as its API reports it. */
async function onChain(people: AgentProcess[]): Promise<string[]> {
  return Promise.all(people.map(async (p) => (await p.api<BalanceView>('GET', '/balance')).onChain));
}

/**
 * The outcome of a story, its report ending with each agent's on-chain balance before the story
 * (`<name>_start_eth`, from `start` when given) and its final one (`<name>_eth`).
 */
async function outcome(
  ok: boolean,
  people: AgentProcess[],
  report: Record<string, unknown>,
  start?: string[],
): Promise<Outcome> {
  const key = (p: AgentProcess) => p.name.toLowerCase();
  if (start !== undefined) for (const [i, p] of people.entries()) report[`${key(p)}_start_eth`] = start[i];
  const balances = await onChain(people);
  for (const [i, p] of people.entries()) report[`${key(p)}_eth`] = balances[i];
  return { ok, report };
}

/**
 * A table of channels, each row as its first agent sees it: both balances, and what its sub- or
 * virtual channels lock.
 */
async function channelTable(title: string, rows: [AgentProcess, AgentProcess, string][]): Promise<void> {
  if (json) return;
  say(`\n${title}`);
  say(`  ${'channel'.padEnd(20)} ${'balances (ETH)'.padEnd(28)} ${'locked'.padStart(6)}`);
  for (const [p, peer, id] of rows) {
    const c = await p.api<ChannelView>('GET', `/channels/${id}`);
    const name = `${p.name}–${peer.name}${c.virtual ? ' (virtual)' : ''}`;
    const balances = `${p.name} ${c.ourBalance}`.padEnd(14) + `${peer.name} ${c.theirBalance}`.padEnd(14);
    say(`  ${name.padEnd(20)} ${balances} ${c.locked.padStart(6)}`);
  }
}

/**
 * Whether each agent's on-chain balance moved from block `from` to block `to` by exactly its
 * share (wei; negative for what it paid in), less the gas it paid for its transactions.
 */
async function movedExactly(
  provider: JsonRpcProvider,
  people: AgentProcess[],
  shares: bigint[],
  from: number,
  to: number,
): Promise<boolean> {
  let exact = true;
  for (const [i, p] of people.entries()) {
    const before = await provider.getBalance(p.info.address, from);
    const after = await provider.getBalance(p.info.address, to);
    const gas = await gasSpent(provider, p.info.address, from, to);
    exact &&= after === before + shares[i]! - gas;
  }
  return exact;
}

/** Starts the Issuer's agent, which answers credential requests with `spendingLimit` (ETH). */
async function startIssuer(
  s: Stage,
  spendingLimit: string,
): Promise<{ issuer: AgentProcess; dir: { dataDir: string; address: string; passphrase: string } }> {
  const dir = await initAgentDir(s.root, 'Issuer', {
    chain: s.chainFile,
    autoIssueSpendingLimit: spendingLimit,
  });
  const issuer = await AgentProcess.start('Issuer', dir.dataDir, dir.passphrase);
  say(
    `Issuer agent started (process ${issuer.child.pid}), issuer DID ${issuer.info.issuerDid.slice(0, 40)}…`,
  );
  return { issuer, dir };
}

/**
 * Starts an agent for each of `names` on the chain, with `policy` (`configOf` adds to it per agent)
 * and `fund` ETH from the faucet.
 */
async function startPeople(
  s: Stage,
  names: string[],
  policy: Partial<AgentConfigFile>,
  fund: string,
  configOf: Record<string, Partial<AgentConfigFile>> = {},
): Promise<AgentProcess[]> {
  const dirs = await Promise.all(
    names.map((n) => initAgentDir(s.root, n, { chain: s.chainFile, ...policy, ...configOf[n] })),
  );
  for (const d of dirs) await faucet({ chain: s.config, address: d.address, amount: parseEther(fund) });
  const people = await Promise.all(
    dirs.map((d, i) => AgentProcess.start(names[i]!, d.dataDir, d.passphrase)),
  );
  for (const p of people)
    say(`${p.name} started (process ${p.child.pid}), address ${p.info.address}, API ${p.apiUrl}`);
  return people;
}

/** `invitee` accepts an invitation of `inviter`: the inviter's side of the connection, and the invitee's. */
async function connectBoth(
  inviter: AgentProcess,
  invitee: AgentProcess,
): Promise<[ConnectionView, ConnectionView]> {
  const theirs = await connectAgents(inviter, invitee);
  const ours = (await inviter.api<ConnectionView[]>('GET', '/connections')).find(
    (c) => c.theirDid === theirs.ourDid,
  )!;
  return [ours, theirs];
}

/**
 * `holder` asks the Issuer for its credential over `connectionId` (a new connection by default);
 * the Issuer answers such requests by its config.
 */
async function requestCredential(
  issuer: AgentProcess,
  holder: AgentProcess,
  connectionId?: string,
): Promise<CredentialView> {
  return holder.api<CredentialView>('POST', '/credentials/request', {
    connectionId: connectionId ?? (await connectAgents(issuer, holder)).id,
    name: holder.name,
  });
}

/** `p` opens a channel (`body` POSTed to `path`); its view, once `peer` has the channel open too. */
async function openChannel(
  p: AgentProcess,
  peer: AgentProcess,
  path: '/channels' | '/virtual-channels',
  body: Record<string, string>,
): Promise<ChannelView> {
  let channel: ChannelView | undefined;
  await peer.event(
    (e) => e.type === 'channel-opened' && e.channel.virtual === (path === '/virtual-channels'),
    async () => {
      channel = await p.api<ChannelView>('POST', path, body);
    },
  );
  return channel!;
}

async function paymentStory(s: Stage): Promise<Outcome> {
  const { chain, config, provider } = s;
  const { issuer } = await startIssuer(s, '25');
  const policy = { trustedIssuers: [issuer.info.issuerDid], autoAcceptMaxFund: '20' };
  const [alice, bob] = (await startPeople(s, ['Alice', 'Bob'], policy, '50')) as [AgentProcess, AgentProcess];
  const people = [alice, bob];

  say('\nThe Issuer connects to Alice and certifies her after she proves her address');
  const aliceCred = await issuer.api<CredentialView>('POST', '/credentials/issue', {
    connectionId: (await connectBoth(issuer, alice))[0].id,
    name: 'Alice',
    spendingLimit: '25',
  });
  say(`  Alice holds: name ${aliceCred.claims.name}, address ${aliceCred.claims.ethereumAddress}`);
  say('Bob connects to the Issuer and asks for his credential; the Issuer answers automatically');
  const bobCred = await requestCredential(issuer, bob);
  say(`  Bob holds: name ${bobCred.claims.name}, spending limit ${bobCred.claims.spendingLimit} ETH`);

  say('\nAlice accepts Bob’s invitation; each checks the other’s credential before the channel opens');
  const ab = await connectAgents(bob, alice);
  const tOpen = performance.now();
  const channel = await openChannel(alice, bob, '/channels', {
    connectionId: ab.id,
    fund: '10',
    peerFund: '10',
  });
  const openMs = performance.now() - tOpen;
  await table(
    `channel ${channel.id.slice(0, 18)}… funded with 10 ETH each (${Math.round(openMs)} ms)`,
    people,
    channel.id,
  );

  const tp = performance.now();
  for (let i = 0; i < payments; i++) {
    const [from, amount] = i % 3 === 2 ? [bob, '0.01'] : [alice, '0.02'];
    await from.api('POST', `/channels/${channel.id}/payments`, { amount });
  }
  const paymentsPerS = Math.round(payments / ((performance.now() - tp) / 1000));
  await table(
    `${payments} payments both ways over DIDComm, each signed and stored by both (${paymentsPerS}/s)`,
    people,
    channel.id,
  );

  const final = await alice.api<ChannelView>('GET', `/channels/${channel.id}`);
  const startBlock = await provider.getBlockNumber();
  const bobSettled = bob.event<SettledEvent>((e) => e.type === 'settled');
  const closed = await alice.api<SettlementView>('POST', `/channels/${channel.id}/close`);
  const bobGot = (await bobSettled).settlement;
  const endBlock = await provider.getBlockNumber();
  const shares = [parseEther(final.ourBalance), parseEther(final.theirBalance)];
  const settled =
    closed.withdrawn[0]?.amount === final.ourBalance &&
    bobGot.withdrawn[0]?.amount === final.theirBalance &&
    (await movedExactly(provider, people, shares, startBlock, endBlock));
  await table(
    `closed cooperatively: Alice withdrew ${closed.withdrawn[0]?.amount} ETH, Bob ${bobGot.withdrawn[0]?.amount} ETH` +
      ` (${settled ? 'on-chain balances moved by exactly that, less gas' : 'MISMATCH'})`,
    people,
  );

  let refuted = true;
  if (dispute) {
    say('\nA second channel; this time Bob will cheat');
    const second = await alice.api<ChannelView>('POST', '/channels', {
      connectionId: ab.id,
      fund: '5',
      peerFund: '5',
    });
    await alice.api('POST', `/channels/${second.id}/payments`, { amount: '3' });
    const stale = await bob.api<SignedStateView>('GET', `/channels/${second.id}/signed-state`);
    say(`  Alice pays Bob 3 ETH; Bob keeps a copy of that state (version ${stale.version})`);
    await bob.api('POST', `/channels/${second.id}/payments`, { amount: '2.5' });
    const latest = await alice.api<ChannelView>('GET', `/channels/${second.id}`);
    say(
      `  Bob pays 2.5 ETH back: version ${latest.version}, Alice ${latest.ourBalance}, Bob ${latest.theirBalance}`,
    );

    say(`Bob registers his old version ${stale.version}, which pays him 2.5 ETH more`);
    const refutation = alice.event<NodeEventWithId & { type: 'dispute' }>(
      (e) => e.type === 'dispute' && e.channelId === second.id && e.version === latest.version,
    );
    const settledBoth = Promise.all(
      people.map((p) =>
        p.event<SettledEvent>((e) => e.type === 'settled' && e.settlement.channelId === second.id),
      ),
    );
    const cheater = new EthereumAdjudicator(new TxSender(chain.chain.wallet(9)), config.adjudicator);
    await cheater.register({
      params: paramsFromJson(stale.params, 'params'),
      state: stateFromJson(stale.state, 'state'),
      sigs: stale.sigs,
    });
    const seen = await refutation;
    say(`  Alice's watcher refutes it: version ${seen.version} is registered now`);
    say(`  the challenge duration (${second.challengeDuration} s) passes; both agents conclude and withdraw`);
    await chain.chain.increaseTime(second.challengeDuration + 1);
    const [aliceOut, bobOut] = (await settledBoth) as [SettledEvent, SettledEvent];
    refuted =
      aliceOut.settlement.withdrawn[0]?.amount === latest.ourBalance &&
      bobOut.settlement.withdrawn[0]?.amount === latest.theirBalance;
    await table(
      `settled at the latest state: Alice ${aliceOut.settlement.withdrawn[0]?.amount} ETH, Bob ${bobOut.settlement.withdrawn[0]?.amount} ETH`,
      people,
    );
  }

  return outcome(settled && refuted, people, {
    settled,
    refuted: dispute ? refuted : undefined,
    payments,
    payments_per_s: paymentsPerS,
    open_ms: Math.round(openMs),
  });
}

async function credentialSaleStory(s: Stage): Promise<Outcome> {
  const { chain, provider } = s;
  const started = await startIssuer(s, '10');
  say('\nThe Issuer certifies itself and trusts itself, so that it takes channels gated like anyone');
  const own = await started.issuer.api<SignedCredentialView>('POST', '/credentials/sign', {
    subject: started.issuer.info.did,
    name: 'Issuer',
    spendingLimit: '10',
    ethereumAddress: started.issuer.info.address,
  });
  await started.issuer.api('POST', '/credentials/import', { credential: own.credential });
  const issuerDid = started.issuer.info.issuerDid;
  await started.issuer.stop();
  const { dir } = started;
  const issuer = await AgentProcess.start('Issuer', dir.dataDir, dir.passphrase, {
    PERUN_TRUSTED_ISSUERS: issuerDid,
  });
  say(`  Issuer restarted (process ${issuer.child.pid}) trusting itself, address ${issuer.info.address}`);
  await faucet({ chain: s.config, address: dir.address, amount: parseEther('5') });
  const [alice] = (await startPeople(s, ['Alice'], { trustedIssuers: [issuerDid] }, '5')) as [AgentProcess];
  const people = [issuer, alice];

  say('Alice connects to the Issuer and asks for her credential; the Issuer answers automatically');
  const [toAlice, toIssuer] = await connectBoth(issuer, alice);
  const aliceCred = await requestCredential(issuer, alice, toIssuer.id);
  say(`  Alice holds: name ${aliceCred.claims.name}, address ${aliceCred.claims.ethereumAddress}`);

  const claims = { degree: 'MSc Distributed Systems' };
  say(`\nThe Issuer offers Alice a credential (${claims.degree}) for ${PRICE} ETH over DIDComm`);
  const offered = alice.event<SaleEvent>((e) => e.type === 'credential-sale' && e.sale.status === 'offered');
  const sale = await issuer.api<CredentialSaleView>('POST', '/credential-sales', {
    connectionId: toAlice.id,
    claims: JSON.stringify(claims),
    price: PRICE,
  });
  const seen = (await offered).sale;
  say(`  Alice has the credential unsigned, and its digest ${seen.digest.slice(0, 18)}…`);
  const startBalances = await onChain(people);
  await table('before the sale', people);

  say('\nAlice buys it: her app channel locks the price against the digest; both check credentials first');
  const startBlock = await provider.getBlockNumber();
  const aliceOpened = alice.event<NodeEventWithId & { type: 'channel-opened' }>(
    (e) => e.type === 'channel-opened',
  );
  const delivered = alice.event<SaleEvent>(
    (e) => e.type === 'credential-sale' && e.sale.id === seen.id && e.sale.status === 'delivered',
  );
  const settledBoth = Promise.all(people.map((p) => p.event<SettledEvent>((e) => e.type === 'settled')));
  const bought = await alice.api<CredentialSaleView>('POST', `/credential-sales/${seen.id}/buy`);
  const open = (await aliceOpened).channel;
  say(
    `  app channel ${bought.channelId!.slice(0, 18)}… open at version ${open.version}: ` +
      `Alice ${open.ourBalance} ETH, Issuer ${open.theirBalance} ETH`,
  );

  const done = (await delivered).sale;
  const last = await alice.api<ChannelView>('GET', `/channels/${bought.channelId!}`);
  say('The Issuer answers with an update that reveals its signature over the digest and takes the price');
  say(
    `  version ${last.version}${last.isFinal ? ' (final)' : ''}: ` +
      `Alice ${last.ourBalance} ETH, Issuer ${last.theirBalance} ETH`,
  );
  const { proof, ...credential } = done.credential as {
    proof: { type: string; proofValue: string };
  } & Record<string, unknown>;
  const subject = credential['credentialSubject'] as { id: string } & Record<string, unknown>;
  const issuerPkh = `did:pkh:eip155:${chain.config['chainId'] as string}:${issuer.info.address}`;
  const credentialVerified =
    credentialDigest(credential) === sale.digest &&
    verifyCredentialSignature(sale.digest, proof.proofValue, issuer.info.address) &&
    credential['issuer'] === issuerPkh &&
    subject.id === alice.info.did &&
    subject['degree'] === claims.degree;
  say(`  Alice's agent completes the credential with the signature as its proof (${proof.type}):`);
  say(`    type    ${(credential['type'] as string[]).join(', ')}`);
  say(`    issuer  ${credential['issuer'] as string}`);
  say(`    subject ${subject.id.slice(0, 40)}… (Alice), degree ${subject['degree'] as string}`);
  say(
    `    ${credentialVerified ? 'verifies' : 'DOES NOT VERIFY'}: its digest is the one paid for, and the` +
      ' signature recovers the Issuer’s address',
  );

  say('The final state settles on chain: concluded, and each withdraws its share');
  const [issuerOut, aliceOut] = (await settledBoth) as [SettledEvent, SettledEvent];
  const endBlock = await provider.getBlockNumber();
  const price = parseEther(PRICE);
  const settled =
    issuerOut.settlement.withdrawn[0]?.amount === PRICE &&
    aliceOut.settlement.withdrawn[0]?.amount === '0' &&
    (await movedExactly(provider, people, [price, -price], startBlock, endBlock));
  await table(
    `settled: the Issuer withdrew ${issuerOut.settlement.withdrawn[0]?.amount} ETH, Alice ` +
      `${aliceOut.settlement.withdrawn[0]?.amount} ETH (${settled ? `on-chain balances moved by exactly the price, less gas` : 'MISMATCH'})`,
    people,
  );

  return outcome(
    settled && credentialVerified,
    people,
    {
      settled,
      app: 'credential-payment',
      price: PRICE,
      credentialVerified,
      channel_id: bought.channelId,
    },
    startBalances,
  );
}

async function virtualChannelStory(s: Stage): Promise<Outcome> {
  const { provider } = s;
  const { issuer } = await startIssuer(s, '25');
  const policy = { trustedIssuers: [issuer.info.issuerDid], autoAcceptMaxFund: '20' };
  const intermediary = { Ingrid: { intermediary: true } };
  const people = (await startPeople(s, ['Alice', 'Bob', 'Ingrid'], policy, '10', intermediary)) as [
    AgentProcess,
    AgentProcess,
    AgentProcess,
  ];
  const [alice, bob, ingrid] = people;

  say('\nEach asks the Issuer for its credential; the Issuer answers automatically, then stops');
  for (const p of people) {
    const cred = await requestCredential(issuer, p);
    say(`  ${p.name} holds: name ${cred.claims.name}, address ${cred.claims.ethereumAddress}`);
  }
  await issuer.stop();
  const startBalances = await onChain(people);
  const startBlock = await provider.getBlockNumber();

  say('\nAlice and Bob each open a ledger channel with Ingrid, an intermediary by her config;');
  say('each side checks the other’s credential before a channel opens');
  const ledger = async (p: AgentProcess, fund: string, peerFund: string) =>
    openChannel(p, ingrid, '/channels', {
      connectionId: (await connectAgents(ingrid, p)).id,
      fund,
      peerFund,
    });
  const ai = await ledger(alice, V.aliceLedger, V.ingridWithAlice);
  const bi = await ledger(bob, V.bobLedger, V.ingridWithBob);
  const ledgers: [AgentProcess, AgentProcess, string][] = [
    [alice, ingrid, ai.id],
    [bob, ingrid, bi.id],
  ];
  await channelTable('both ledger channels open and funded on chain', ledgers);

  say('\nAlice opens a virtual channel with Bob through Ingrid: Alice and Bob check each other’s');
  say('credential, each ledger channel locks the virtual funds, Ingrid standing in for the other side');
  const ab = await connectAgents(bob, alice);
  const blockBefore = await provider.getBlockNumber();
  const tOpen = performance.now();
  const virtual = await openChannel(alice, bob, '/virtual-channels', {
    connectionId: ab.id,
    via: ai.id,
    fund: V.aliceVirtual,
    peerFund: V.bobVirtual,
  });
  const openMs = Math.round(performance.now() - tOpen);
  // No agent sent a transaction: a virtual channel opens off chain.
  const blockAfter = await provider.getBlockNumber();
  const gas = await Promise.all(
    people.map((p) => gasSpent(provider, p.info.address, blockBefore, blockAfter)),
  );
  const offChain = gas.every((g) => g === 0n);
  const vid = virtual.id;
  const how = offChain ? 'no transaction on chain' : 'WITH TRANSACTIONS';
  await channelTable(`virtual channel ${vid.slice(0, 18)}… open (${openMs} ms), ${how}`, [
    [alice, bob, vid],
    ...ledgers,
  ]);

  const tp = performance.now();
  for (let i = 0; i < payments; i++)
    await alice.api('POST', `/channels/${vid}/payments`, { amount: V.payment });
  const paymentsPerS = Math.round(payments / ((performance.now() - tp) / 1000));
  await bob.api('POST', `/channels/${vid}/payments`, { amount: V.payBack });
  await channelTable(
    `${payments} payments of ${V.payment} ETH from Alice to Bob (${paymentsPerS}/s), ${V.payBack} ETH back;` +
      ' signed by both directly, Ingrid sees none of them',
    [[alice, bob, vid]],
  );

  const wei = (k: keyof typeof V) => parseEther(V[k]);
  const paid = BigInt(payments) * wei('payment') - wei('payBack');
  const aliceV = wei('aliceVirtual') - paid;
  const bobV = wei('bobVirtual') + paid;
  const final = await alice.api<ChannelView>('GET', `/channels/${vid}`);
  const virtualExact = parseEther(final.ourBalance) === aliceV && parseEther(final.theirBalance) === bobV;

  say('\nAlice closes the virtual channel: its final balances go back into both ledger channels');
  await bob.event(
    (e) => e.type === 'settled' && e.settlement.channelId === vid,
    () => alice.api<SettlementView>('POST', `/channels/${vid}/close`),
  );
  await channelTable('virtual channel closed', ledgers);
  // Each ledger channel: its party and Ingrid hold what they did not lock, and what the virtual
  // channel released to them (Ingrid gets the other side's virtual balance).
  const legs = [
    {
      p: alice,
      id: ai.id,
      expected: wei('aliceLedger') - wei('aliceVirtual') + aliceV,
      expectedIngrid: wei('ingridWithAlice') - wei('bobVirtual') + bobV,
    },
    {
      p: bob,
      id: bi.id,
      expected: wei('bobLedger') - wei('bobVirtual') + bobV,
      expectedIngrid: wei('ingridWithBob') - wei('aliceVirtual') + aliceV,
    },
  ];
  const ourBalance = async (p: AgentProcess, id: string) =>
    parseEther((await p.api<ChannelView>('GET', `/channels/${id}`)).ourBalance);
  let released = true;
  let ingridHolds = 0n;
  for (const l of legs) {
    const ingrids = await ourBalance(ingrid, l.id);
    released &&= (await ourBalance(l.p, l.id)) === l.expected && ingrids === l.expectedIngrid;
    ingridHolds += ingrids;
  }
  const ingridIn = wei('ingridWithAlice') + wei('ingridWithBob');
  const ingridNeutral = ingridHolds === ingridIn;
  say(
    `  Ingrid holds ${eth(ingridHolds)} ETH in her two ledger channels, the ${eth(ingridIn)} she put in: ` +
      (ingridNeutral ? 'Ingrid ends neutral' : 'NOT NEUTRAL'),
  );

  say('\nAlice and Bob each close their ledger channel with Ingrid; both settle on chain');
  let withdrawnExact = true;
  for (const l of legs) {
    let mine: SettlementView | undefined;
    const theirs = await ingrid.event<SettledEvent>(
      (e) => e.type === 'settled' && e.settlement.channelId === l.id,
      async () => {
        mine = await l.p.api<SettlementView>('POST', `/channels/${l.id}/close`);
      },
    );
    const [ours, ingrids] = [
      mine?.withdrawn[0]?.amount ?? '0',
      theirs.settlement.withdrawn[0]?.amount ?? '0',
    ];
    withdrawnExact &&= parseEther(ours) === l.expected && parseEther(ingrids) === l.expectedIngrid;
    say(`  ${l.p.name} withdrew ${ours} ETH, Ingrid ${ingrids} ETH`);
  }
  const endBlock = await provider.getBlockNumber();
  // On chain, Alice paid Bob what the virtual channel moved; Ingrid got back what she put in.
  const shares = [aliceV - wei('aliceVirtual'), bobV - wei('bobVirtual'), 0n];
  const settled = withdrawnExact && (await movedExactly(provider, people, shares, startBlock, endBlock));
  await table(
    `settled: Alice paid Bob ${eth(paid)} ETH, Ingrid neither gained nor lost` +
      ` (${settled ? 'on-chain balances moved by exactly that, less gas' : 'MISMATCH'})`,
    people,
  );

  return outcome(
    settled && ingridNeutral && virtualExact && released,
    people,
    {
      settled,
      payments,
      payments_per_s: paymentsPerS,
      virtual_open_ms: openMs,
      ingrid_neutral: ingridNeutral,
      channel_id: vid,
    },
    startBalances,
  );
}

async function main(): Promise<void> {
  if (virtualStory && (!Number.isInteger(payments) || payments < 1 || payments > MAX_VIRTUAL_PAYMENTS))
    throw new Error(`--payments takes a number from 1 to ${MAX_VIRTUAL_PAYMENTS} with --virtual`);
  if (!appStory && !virtualStory && (!Number.isInteger(payments) || payments < 2))
    throw new Error('--payments takes a number of at least 2');
  const t0 = performance.now();
  const root = mkdtempSync(join(tmpdir(), 'perun-demo-'));
  const chainFile = join(root, 'chain.json');
  const chain = await runChain({ out: chainFile });
  try {
    const config = parseEthereumConfig(chain.config);
    say(`embedded chain on ${chain.rpcUrl}, Perun contracts deployed (Adjudicator ${config.adjudicator})`);
    const stage = { root, chainFile, chain, config, provider: chain.chain.provider() };
    const story = appStory ? credentialSaleStory : virtualStory ? virtualChannelStory : paymentStory;
    const { ok, report } = await story(stage);
    const seconds = (performance.now() - t0) / 1000;
    say(`\n${ok ? 'ok' : 'FAILED'}: the story took ${seconds.toFixed(1)} s`);
    if (json) console.log(JSON.stringify({ ok, ...report, seconds: Number(seconds.toFixed(1)) }));
    if (!ok) process.exitCode = 1;
  } finally {
    await stopAllProcesses();
    await chain.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
