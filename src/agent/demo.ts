// `npm run demo`: three agents as separate processes on loopback, as a user would run them. The
// embedded chain starts and gets the Perun contracts; an Issuer, Alice and Bob start with their
// own SQLite files and REST APIs. The Issuer certifies Alice and Bob (peer credentials binding
// their DIDs to their Ethereum addresses); Alice accepts Bob's invitation and opens a channel that
// both agents admit only after checking each other's credential; they stream payments both ways
// and close cooperatively. Then Bob cheats on a second channel: the state he registers on chain
// is old, Alice's watcher refutes it with the latest one, and the chain pays both exactly the
// latest balances. Every step is driven through the agents' REST APIs.
// Usage: npm run demo [-- --payments N] [-- --no-dispute] [-- --json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther } from 'ethers';
import { paramsFromJson, stateFromJson } from '../channels/json.js';
import { EthereumAdjudicator } from '../channels/ethereum/adjudicator.js';
import { parseEthereumConfig } from '../channels/ethereum/config.js';
import { TxSender } from '../channels/ethereum/tx.js';
import { faucet, runChain } from './node/chain.js';
import type {
  BalanceView,
  ChannelView,
  ConnectionView,
  CredentialView,
  NodeEventWithId,
  SettlementView,
  SignedStateView,
} from './node/types.js';
import { AgentProcess, connectAgents, initAgentDir, stopAllProcesses } from './process/agent-process.js';
import { gasSpent } from './process/gas.js';

const json = process.argv.includes('--json');
const dispute = !process.argv.includes('--no-dispute');
/** `--payments N` or `--payments=N`; default 200. */
function paymentsOption(): number {
  const i = process.argv.findIndex((a) => a === '--payments' || a.startsWith('--payments='));
  if (i < 0) return 200;
  const arg = process.argv[i]!;
  return Number(arg.includes('=') ? arg.split('=')[1] : process.argv[i + 1]);
}
const payments = paymentsOption();
const say = (line = '') => {
  if (!json) console.log(line);
};

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

async function main(): Promise<void> {
  if (!Number.isInteger(payments) || payments < 2) throw new Error('--payments takes a number of at least 2');
  const t0 = performance.now();
  const root = mkdtempSync(join(tmpdir(), 'perun-demo-'));
  const chainFile = join(root, 'chain.json');
  const chain = await runChain({ out: chainFile });
  try {
    const config = parseEthereumConfig(chain.config);
    const provider = chain.chain.provider();
    say(`embedded chain on ${chain.rpcUrl}, Perun contracts deployed (Adjudicator ${config.adjudicator})`);

    const issuerDir = await initAgentDir(root, 'Issuer', { chain: chainFile, autoIssueSpendingLimit: '25' });
    const issuer = await AgentProcess.start('Issuer', issuerDir.dataDir, issuerDir.passphrase);
    say(
      `Issuer agent started (process ${issuer.child.pid}), issuer DID ${issuer.info.issuerDid.slice(0, 40)}…`,
    );
    const policy = { chain: chainFile, trustedIssuers: [issuer.info.issuerDid], autoAcceptMaxFund: '20' };
    const dirs = await Promise.all([initAgentDir(root, 'Alice', policy), initAgentDir(root, 'Bob', policy)]);
    for (const d of dirs) await faucet({ chain: config, address: d.address, amount: parseEther('50') });
    const [alice, bob] = await Promise.all(
      dirs.map((d, i) => AgentProcess.start(i === 0 ? 'Alice' : 'Bob', d.dataDir, d.passphrase)),
    );
    for (const p of [alice!, bob!])
      say(`${p.name} started (process ${p.child.pid}), address ${p.info.address}, API ${p.apiUrl}`);
    const people = [alice!, bob!];

    say('\nThe Issuer connects to Alice and certifies her after she proves her address');
    const toAlice = await connectAgents(issuer, alice!);
    const issuerSide = (await issuer.api<ConnectionView[]>('GET', '/connections')).find(
      (c) => c.theirDid === toAlice.ourDid,
    )!;
    const aliceCred = await issuer.api<CredentialView>('POST', '/credentials/issue', {
      connectionId: issuerSide.id,
      name: 'Alice',
      spendingLimit: '25',
    });
    say(`  Alice holds: name ${aliceCred.claims.name}, address ${aliceCred.claims.ethereumAddress}`);
    say('Bob connects to the Issuer and asks for his credential; the Issuer answers automatically');
    const toIssuer = await connectAgents(issuer, bob!);
    const bobCred = await bob!.api<CredentialView>('POST', '/credentials/request', {
      connectionId: toIssuer.id,
      name: 'Bob',
    });
    say(`  Bob holds: name ${bobCred.claims.name}, spending limit ${bobCred.claims.spendingLimit} ETH`);

    say('\nAlice accepts Bob’s invitation; each checks the other’s credential before the channel opens');
    const ab = await connectAgents(bob!, alice!);
    const opened = bob!.event((e) => e.type === 'channel-opened');
    const tOpen = performance.now();
    const channel = await alice!.api<ChannelView>('POST', '/channels', {
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
      const [from, amount] = i % 3 === 2 ? [bob!, '0.01'] : [alice!, '0.02'];
      await from.api('POST', `/channels/${channel.id}/payments`, { amount });
    }
    const paymentsPerS = Math.round(payments / ((performance.now() - tp) / 1000));
    await table(
      `${payments} payments both ways over DIDComm, each signed and stored by both (${paymentsPerS}/s)`,
      people,
      channel.id,
    );

    const final = await alice!.api<ChannelView>('GET', `/channels/${channel.id}`);
    const startBlock = await provider.getBlockNumber();
    const before = await Promise.all(people.map((p) => provider.getBalance(p.info.address, startBlock)));
    const bobSettled = bob!.event<NodeEventWithId & { type: 'settled' }>((e) => e.type === 'settled');
    const closed = await alice!.api<SettlementView>('POST', `/channels/${channel.id}/close`);
    const bobGot = (await bobSettled).settlement;
    const endBlock = await provider.getBlockNumber();
    let settled =
      closed.withdrawn[0]?.amount === final.ourBalance && bobGot.withdrawn[0]?.amount === final.theirBalance;
    for (const [i, p] of people.entries()) {
      const share = parseEther(i === 0 ? final.ourBalance : final.theirBalance);
      const after = await provider.getBalance(p.info.address, endBlock);
      const gas = await gasSpent(provider, p.info.address, startBlock, endBlock);
      settled &&= after === before[i]! + share - gas;
    }
    await table(
      `closed cooperatively: Alice withdrew ${closed.withdrawn[0]?.amount} ETH, Bob ${bobGot.withdrawn[0]?.amount} ETH` +
        ` (${settled ? 'on-chain balances moved by exactly that, less gas' : 'MISMATCH'})`,
      people,
    );

    let refuted = true;
    if (dispute) {
      say('\nA second channel; this time Bob will cheat');
      const second = await alice!.api<ChannelView>('POST', '/channels', {
        connectionId: ab.id,
        fund: '5',
        peerFund: '5',
      });
      await alice!.api('POST', `/channels/${second.id}/payments`, { amount: '3' });
      const stale = await bob!.api<SignedStateView>('GET', `/channels/${second.id}/signed-state`);
      say(`  Alice pays Bob 3 ETH; Bob keeps a copy of that state (version ${stale.version})`);
      await bob!.api('POST', `/channels/${second.id}/payments`, { amount: '2.5' });
      const latest = await alice!.api<ChannelView>('GET', `/channels/${second.id}`);
      say(
        `  Bob pays 2.5 ETH back: version ${latest.version}, Alice ${latest.ourBalance}, Bob ${latest.theirBalance}`,
      );

      say(`Bob registers his old version ${stale.version}, which pays him 2.5 ETH more`);
      const refutation = alice!.event<NodeEventWithId & { type: 'dispute' }>(
        (e) => e.type === 'dispute' && e.channelId === second.id && e.version === latest.version,
      );
      const settledBoth = Promise.all(
        people.map((p) =>
          p.event<NodeEventWithId & { type: 'settled' }>(
            (e) => e.type === 'settled' && e.settlement.channelId === second.id,
          ),
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
      say(
        `  the challenge duration (${second.challengeDuration} s) passes; both agents conclude and withdraw`,
      );
      await chain.chain.increaseTime(second.challengeDuration + 1);
      const [aliceOut, bobOut] = (await settledBoth) as [
        NodeEventWithId & { type: 'settled' },
        NodeEventWithId & { type: 'settled' },
      ];
      refuted =
        aliceOut.settlement.withdrawn[0]?.amount === latest.ourBalance &&
        bobOut.settlement.withdrawn[0]?.amount === latest.theirBalance;
      await table(
        `settled at the latest state: Alice ${aliceOut.settlement.withdrawn[0]?.amount} ETH, Bob ${bobOut.settlement.withdrawn[0]?.amount} ETH`,
        people,
      );
    }

    const balances = await Promise.all(people.map((p) => p.api<BalanceView>('GET', '/balance')));
    const seconds = (performance.now() - t0) / 1000;
    say(`\n${settled && refuted ? 'ok' : 'FAILED'}: the story took ${seconds.toFixed(1)} s`);
    if (json)
      console.log(
        JSON.stringify({
          ok: settled && refuted,
          settled,
          refuted: dispute ? refuted : undefined,
          payments,
          payments_per_s: paymentsPerS,
          open_ms: Math.round(openMs),
          alice_eth: balances[0]!.onChain,
          bob_eth: balances[1]!.onChain,
          seconds: Number(seconds.toFixed(1)),
        }),
      );
    if (!(settled && refuted)) process.exitCode = 1;
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
