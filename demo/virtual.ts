// The virtual channel story (`npm run demo -- --virtual`): Alice and Bob each open a ledger channel
// with Ingrid (an intermediary by her config); Alice opens a virtual channel with Bob through her,
// pays him directly, and the virtual channel closes back into both ledger channels with Ingrid
// neutral (her two ledger channels hold what she put in); both ledger channels settle on chain.
import { formatEther, parseEther } from 'ethers';
import type { ChannelView, SettlementView } from '../src/agent/node/types.js';
import { connectAgents, type AgentProcess } from '../src/agent/process/agent-process.js';
import { gasSpent } from '../src/agent/process/gas.js';
import {
  channelTable,
  movedExactly,
  onChain,
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

/**
 * The story, ETH: what each puts into the ledger channels with Ingrid and into the virtual
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
export const MAX_VIRTUAL_PAYMENTS = Number(parseEther(V.aliceVirtual) / parseEther(V.payment));

/** The story with `payments` payments of V.payment over the virtual channel (at most MAX_VIRTUAL_PAYMENTS). */
export async function virtualChannelStory(s: Stage, payments: number): Promise<Outcome> {
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

  s.say('\nEach asks the Issuer for its credential; the Issuer answers automatically, then stops');
  for (const p of people) {
    const cred = await requestCredential(issuer, p);
    s.say(`  ${p.name} holds: name ${cred.claims.name}, address ${cred.claims.ethereumAddress}`);
  }
  await issuer.stop();
  const startBalances = await onChain(people);
  const startBlock = await provider.getBlockNumber();

  s.say('\nAlice and Bob each open a ledger channel with Ingrid, an intermediary by her config;');
  s.say('each side checks the other’s credential before a channel opens');
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
  await channelTable(s, 'both ledger channels open and funded on chain', ledgers);

  s.say('\nAlice opens a virtual channel with Bob through Ingrid: Alice and Bob check each other’s');
  s.say('credential, each ledger channel locks the virtual funds, Ingrid standing in for the other side');
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
  await channelTable(s, `virtual channel ${vid.slice(0, 18)}… open (${openMs} ms), ${how}`, [
    [alice, bob, vid],
    ...ledgers,
  ]);

  const tp = performance.now();
  for (let i = 0; i < payments; i++)
    await alice.api('POST', `/channels/${vid}/payments`, { amount: V.payment });
  const paymentsPerS = Math.round(payments / ((performance.now() - tp) / 1000));
  await bob.api('POST', `/channels/${vid}/payments`, { amount: V.payBack });
  await channelTable(
    s,
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

  s.say('\nAlice closes the virtual channel: its final balances go back into both ledger channels');
  await bob.event(
    (e) => e.type === 'settled' && e.settlement.channelId === vid,
    () => alice.api<SettlementView>('POST', `/channels/${vid}/close`),
  );
  await channelTable(s, 'virtual channel closed', ledgers);
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
  s.say(
    `  Ingrid holds ${eth(ingridHolds)} ETH in her two ledger channels, the ${eth(ingridIn)} she put in: ` +
      (ingridNeutral ? 'Ingrid ends neutral' : 'NOT NEUTRAL'),
  );

  s.say('\nAlice and Bob each close their ledger channel with Ingrid; both settle on chain');
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
    s.say(`  ${l.p.name} withdrew ${ours} ETH, Ingrid ${ingrids} ETH`);
  }
  const endBlock = await provider.getBlockNumber();
  // On chain, Alice paid Bob what the virtual channel moved; Ingrid got back what she put in.
  const shares = [aliceV - wei('aliceVirtual'), bobV - wei('bobVirtual'), 0n];
  const settled = withdrawnExact && (await movedExactly(provider, people, shares, startBlock, endBlock));
  await table(
    s,
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
