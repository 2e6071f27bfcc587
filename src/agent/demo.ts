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
// Usage: npm run demo [-- --payments N] [-- --no-dispute] [-- --json]
//        npm run demo -- --app [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther, type JsonRpcProvider } from 'ethers';
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
const dispute = !process.argv.includes('--no-dispute');
/** `--payments N` or `--payments=N`; default 200. */
function paymentsOption(): number {
  const i = process.argv.findIndex((a) => a === '--payments' || a.startsWith('--payments='));
  if (i < 0) return 200;
  const arg = process.argv[i]!;
  return Number(arg.includes('=') ? arg.split('=')[1] : process.argv[i + 1]);
}
const payments = paymentsOption();
/** What the Issuer asks for the credential it sells in the app story, ETH. */
const PRICE = '0.05';
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

/** The outcome of a story, its report ending with each agent's final on-chain balance as `<name>_eth`. */
async function outcome(
  ok: boolean,
  people: AgentProcess[],
  report: Record<string, unknown>,
): Promise<Outcome> {
  const balances = await onChain(people);
  for (const [i, p] of people.entries()) report[`${p.name.toLowerCase()}_eth`] = balances[i];
  return { ok, report };
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

/** Starts an agent for each of `names` on the chain, with `policy` and `fund` ETH from the faucet. */
async function startPeople(
  s: Stage,
  names: string[],
  policy: Partial<AgentConfigFile>,
  fund: string,
): Promise<AgentProcess[]> {
  const dirs = await Promise.all(
    names.map((n) => initAgentDir(s.root, n, { chain: s.chainFile, ...policy })),
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
  const toIssuer = await connectAgents(issuer, bob);
  const bobCred = await bob.api<CredentialView>('POST', '/credentials/request', {
    connectionId: toIssuer.id,
    name: 'Bob',
  });
  say(`  Bob holds: name ${bobCred.claims.name}, spending limit ${bobCred.claims.spendingLimit} ETH`);

  say('\nAlice accepts Bob’s invitation; each checks the other’s credential before the channel opens');
  const ab = await connectAgents(bob, alice);
  const opened = bob.event((e) => e.type === 'channel-opened');
  const tOpen = performance.now();
  const channel = await alice.api<ChannelView>('POST', '/channels', {
    connectionId: ab.id,
    fund: '10',
    peerFund: '10',
  });
  await opened;
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
  const aliceCred = await alice.api<CredentialView>('POST', '/credentials/request', {
    connectionId: toIssuer.id,
    name: 'Alice',
  });
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

  return outcome(settled && credentialVerified, people, {
    settled,
    app: 'credential-payment',
    price: PRICE,
    credentialVerified,
    channel_id: bought.channelId,
    issuer_start_eth: startBalances[0],
    alice_start_eth: startBalances[1],
  });
}

async function main(): Promise<void> {
  if (!appStory && (!Number.isInteger(payments) || payments < 2))
    throw new Error('--payments takes a number of at least 2');
  const t0 = performance.now();
  const root = mkdtempSync(join(tmpdir(), 'perun-demo-'));
  const chainFile = join(root, 'chain.json');
  const chain = await runChain({ out: chainFile });
  try {
    const config = parseEthereumConfig(chain.config);
    say(`embedded chain on ${chain.rpcUrl}, Perun contracts deployed (Adjudicator ${config.adjudicator})`);
    const stage = { root, chainFile, chain, config, provider: chain.chain.provider() };
    const { ok, report } = await (appStory ? credentialSaleStory(stage) : paymentStory(stage));
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
