// The payment story (`npm run demo`): the Issuer certifies Alice and Bob (peer credentials binding
// their DIDs to their Ethereum addresses); Alice accepts Bob's invitation and opens a channel that
// both agents admit only after checking each other's credential; they stream payments both ways
// and close cooperatively. Then Bob cheats on a second channel: the state he registers on chain
// is old, Alice's watcher refutes it with the latest one, and the chain pays both exactly the
// latest balances.
import { parseEther } from 'ethers';
import { paramsFromJson, stateFromJson } from '../src/channels/json.js';
import { EthereumAdjudicator } from '../src/channels/ethereum/adjudicator.js';
import { TxSender } from '../src/channels/ethereum/tx.js';
import type {
  ChannelView,
  CredentialView,
  NodeEventWithId,
  SettlementView,
  SignedStateView,
} from '../src/agent/node/types.js';
import { connectAgents, type AgentProcess } from '../src/agent/process/agent-process.js';
import {
  connectBoth,
  movedExactly,
  openChannel,
  outcome,
  requestCredential,
  startIssuer,
  startPeople,
  table,
  type Outcome,
  type SettledEvent,
  type Stage,
} from './stage.js';

/** The story with `payments` payments on the first channel, and Bob's cheat on a second one if `dispute`. */
export async function paymentStory(s: Stage, payments: number, dispute: boolean): Promise<Outcome> {
  const { chain, config, provider } = s;
  const { issuer } = await startIssuer(s, '25');
  const policy = { trustedIssuers: [issuer.info.issuerDid], autoAcceptMaxFund: '20' };
  const [alice, bob] = (await startPeople(s, ['Alice', 'Bob'], policy, '50')) as [AgentProcess, AgentProcess];
  const people = [alice, bob];

  s.say('\nThe Issuer connects to Alice and certifies her after she proves her address');
  const aliceCred = await issuer.api<CredentialView>('POST', '/credentials/issue', {
    connectionId: (await connectBoth(issuer, alice))[0].id,
    name: 'Alice',
    spendingLimit: '25',
  });
  s.say(`  Alice holds: name ${aliceCred.claims.name}, address ${aliceCred.claims.ethereumAddress}`);
  s.say('Bob connects to the Issuer and asks for his credential; the Issuer answers automatically');
  const bobCred = await requestCredential(issuer, bob);
  s.say(`  Bob holds: name ${bobCred.claims.name}, spending limit ${bobCred.claims.spendingLimit} ETH`);

  s.say('\nAlice accepts Bob’s invitation; each checks the other’s credential before the channel opens');
  const ab = await connectAgents(bob, alice);
  const tOpen = performance.now();
  const channel = await openChannel(alice, bob, '/channels', {
    connectionId: ab.id,
    fund: '10',
    peerFund: '10',
  });
  const openMs = performance.now() - tOpen;
  await table(
    s,
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
    s,
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
    s,
    `closed cooperatively: Alice withdrew ${closed.withdrawn[0]?.amount} ETH, Bob ${bobGot.withdrawn[0]?.amount} ETH` +
      ` (${settled ? 'on-chain balances moved by exactly that, less gas' : 'MISMATCH'})`,
    people,
  );

  let refuted = true;
  if (dispute) {
    s.say('\nA second channel; this time Bob will cheat');
    const second = await alice.api<ChannelView>('POST', '/channels', {
      connectionId: ab.id,
      fund: '5',
      peerFund: '5',
    });
    await alice.api('POST', `/channels/${second.id}/payments`, { amount: '3' });
    const stale = await bob.api<SignedStateView>('GET', `/channels/${second.id}/signed-state`);
    s.say(`  Alice pays Bob 3 ETH; Bob keeps a copy of that state (version ${stale.version})`);
    await bob.api('POST', `/channels/${second.id}/payments`, { amount: '2.5' });
    const latest = await alice.api<ChannelView>('GET', `/channels/${second.id}`);
    s.say(
      `  Bob pays 2.5 ETH back: version ${latest.version}, Alice ${latest.ourBalance}, Bob ${latest.theirBalance}`,
    );

    s.say(`Bob registers his old version ${stale.version}, which pays him 2.5 ETH more`);
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
    s.say(`  Alice's watcher refutes it: version ${seen.version} is registered now`);
    s.say(
      `  the challenge duration (${second.challengeDuration} s) passes; both agents conclude and withdraw`,
    );
    await chain.chain.increaseTime(second.challengeDuration + 1);
    const [aliceOut, bobOut] = (await settledBoth) as [SettledEvent, SettledEvent];
    refuted =
      aliceOut.settlement.withdrawn[0]?.amount === latest.ourBalance &&
      bobOut.settlement.withdrawn[0]?.amount === latest.theirBalance;
    await table(
      s,
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
