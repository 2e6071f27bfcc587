// The payment story on TON (`npm run demo -- --ton`): the TON chain server (the sandbox with the
// Perun contract behind its toncenter-shaped HTTP API) and three Credo agents in this process,
// each reaching the chain over that API (HttpTonChain, a development wallet each) and the others
// over DIDComm on loopback. The Issuer asks Alice and Bob to prove their TON channel keys (Ed25519
// address proofs) and certifies them (credentials naming a TON address); Alice opens a channel to
// Bob that both admit only after checking each other's credential (PerunModule's gate); they pay
// each other and close cooperatively, checked to the nanoton at their receivers. Then Bob
// registers an old state of a second channel: Alice's watcher refutes it with the latest one and
// the contract pays both exactly the latest balances. The agent process (REST API, CLI) still runs
// Ethereum only; docs/ton.md says what is left.
import { randomBytes } from 'node:crypto';
import { Address as TonAddress } from '@ton/core';
import { createPerunAgent, type PerunIdentityAgent } from '../src/agent/credo/agent.js';
import { openAgentStore } from '../src/agent/datasource.js';
import { InMemoryKmsKeyStorage, PerunKeyManagementService } from '../src/agent/kms/index.js';
import type { ClientEvent } from '../src/channels/client.js';
import type { Hex } from '../src/channels/types.js';
import { TypeOrmChannelStore } from '../src/channels/persistence/typeorm-store.js';
import { LocalWatcher } from '../src/channels/watcher.js';
import { tonEnvironment, type TonEnvironment } from '../src/channels/ton/backend.js';
import { tonAsset, TON_BACKEND_ID } from '../src/channels/ton/encoding.js';
import { HttpTonChain } from '../src/channels/ton/http-chain.js';
import { startTonChainServer } from '../src/channels/ton/http-server.js';
import { TonSigner } from '../src/channels/ton/signer.js';
import { addressClaims, type PeerPolicy } from '../src/protocols/identity/index.js';
import type { Outcome } from './stage.js';

const TON = 1_000_000_000n;
const CHALLENGE = 30n;

interface TonPerson {
  name: string;
  agent: PerunIdentityAgent;
  signer: TonSigner;
  env: TonEnvironment;
  store: TypeOrmChannelStore;
  /** Where this person's withdrawals go: an account of its own that holds nothing else. */
  receiver: TonAddress;
  events: ClientEvent[];
}

const ton = (n: bigint) => {
  const s = (n < 0n ? -n : n).toString().padStart(10, '0');
  return `${n < 0n ? '-' : ''}${s.slice(0, -9)}.${s.slice(-9).replace(/0+$/, '') || '0'}`;
};

async function credoAgent(name: string, perun: Parameters<typeof createPerunAgent>[0]['perun']) {
  const dataSource = await openAgentStore(':memory:');
  const kms = await PerunKeyManagementService.open({
    storage: new InMemoryKmsKeyStorage(),
    passphrase: `${name} passphrase`,
    scrypt: { N: 2 ** 12 },
  });
  const agent = createPerunAgent({ label: name, dataSource, kms, identity: true, perun });
  await agent.initialize();
  agent.modules.identity.useIdentityDid(await agent.modules.identity.createIdentityDid());
  return { agent, dataSource };
}

/** `invitee` accepts `inviter`'s invitation; the invitee's connection record. */
async function connect(inviter: PerunIdentityAgent, invitee: PerunIdentityAgent) {
  const oob = await inviter.didcomm.oob.createInvitation({ label: 'invitation' });
  const { connectionRecord } = await invitee.didcomm.oob.receiveInvitation(oob.outOfBandInvitation, {
    label: 'invitee',
  });
  const theirs = await invitee.didcomm.connections.returnWhenIsConnected(connectionRecord!.id, {
    timeoutMs: 20_000,
  });
  const [pending] = await inviter.didcomm.connections.findAllByOutOfBandId(oob.id);
  const ours = await inviter.didcomm.connections.returnWhenIsConnected(pending!.id, { timeoutMs: 20_000 });
  return { ours, theirs };
}

/** The first event of `p`'s client that `match`es; rejects after `timeoutMs`. */
function waitFor(p: TonPerson, match: (e: ClientEvent) => boolean, timeoutMs = 30_000): Promise<ClientEvent> {
  const seen = p.events.find(match);
  if (seen !== undefined) return Promise.resolve(seen);
  const client = p.agent.modules.perun.client!;
  return new Promise((resolve, reject) => {
    const on = (e: ClientEvent) => {
      if (!match(e)) return;
      clearTimeout(timer);
      client.off('event', on);
      resolve(e);
    };
    const timer = setTimeout(() => {
      client.off('event', on);
      reject(new Error(`${p.name} saw no such event within ${timeoutMs} ms`));
    }, timeoutMs);
    client.on('event', on);
  });
}

/** The story with `payments` payments on the first channel, and Bob's cheat on a second one if `dispute`. */
export async function tonPaymentStory(
  say: (line?: string) => void,
  payments: number,
  dispute: boolean,
): Promise<Outcome> {
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const server = await startTonChainServer();
    stops.push(() => server.close());
    const chain = await HttpTonChain.connect(server.url);
    say(`TON chain server at ${server.url}: the sandbox with the Perun contract ${server.perun.toString()}`);

    const issuer = await credoAgent('Issuer', undefined);
    stops.push(
      () => issuer.dataSource.destroy(),
      () => issuer.agent.shutdown(),
    );
    const issuerKey = await issuer.agent.modules.identity.createIssuer();
    const policy: PeerPolicy = { trustedIssuers: [issuerKey.did], requiredClaims: { name: true } };

    const person = async (name: string, watch: boolean): Promise<TonPerson> => {
      const signer = TonSigner.random();
      const receiver = new TonAddress(0, randomBytes(32));
      const env = tonEnvironment(chain, server.perun, signer, await chain.devWallet(name), {
        receiver,
        pollIntervalMs: 100,
        eventPollMs: 100,
      });
      const events: ClientEvent[] = [];
      const dataSource = await openAgentStore(':memory:');
      const store = new TypeOrmChannelStore(dataSource);
      const watcher = watch
        ? new LocalWatcher({ events: env.events, adjudicator: env.adjudicator, store, pollIntervalMs: 100 })
        : undefined;
      if (watcher !== undefined) stops.push(() => watcher.close());
      const made = await credoAgent(name, {
        channels: {
          signer,
          backend: env.backend,
          funder: env.funder,
          adjudicator: env.adjudicator,
          store,
          watcher,
          chainPollMs: 100,
          concludeWaitMs: 1_000,
        },
        gate: { policy },
      });
      stops.push(
        () => made.dataSource.destroy(),
        () => made.agent.shutdown(),
        () => dataSource.destroy(),
      );
      made.agent.modules.identity.enablePeerHolder({ signer });
      made.agent.modules.perun.client!.on('event', (e: ClientEvent) => events.push(e));
      return { name, agent: made.agent, signer, env, store, receiver, events };
    };
    const alice = await person('Alice', true);
    const bob = await person('Bob', false); // Bob watches nothing: he means to cheat

    say('\nThe Issuer asks Alice and Bob to prove their TON channel keys, and certifies them');
    for (const p of [alice, bob]) {
      const { ours } = await connect(issuer.agent, p.agent);
      const proven = await issuer.agent.modules.identity.provenHolder(ours.id);
      await issuerKey.issue(
        ours.id,
        { ...addressClaims(proven), name: p.name, spendingLimit: 25n * TON },
        proven.identityDid === undefined ? {} : { subject: proven.identityDid },
      );
      say(`  ${p.name} holds a credential for the TON address ${proven.address} (backend ${proven.backend})`);
    }

    say('\nAlice connects to Bob; each checks the other’s credential before the channel opens');
    const ab = await connect(bob.agent, alice.agent);
    const allocation = (a: bigint, b: bigint) => ({
      assets: [tonAsset(chain.chainID, server.perun)],
      backends: [TON_BACKEND_ID],
      balances: [[a, b]],
      locked: [],
    });
    const first = await alice.agent.modules.perun.openChannel({
      connectionId: ab.theirs.id,
      allocation: allocation(10n * TON, 10n * TON),
      challengeDuration: CHALLENGE,
    });
    await waitFor(bob, (e) => e.type === 'opened' && e.channelId === first.id);
    say(`  channel ${first.id.slice(0, 18)}… funded with 10 TON each`);

    for (let i = 0; i < payments; i++) {
      if (i % 3 === 2) await bob.agent.modules.perun.pay(first.id, TON / 100n);
      else await alice.agent.modules.perun.pay(first.id, TON / 50n);
    }
    const [fa, fb] = alice.agent.modules.perun.client!.channel(first.id).state!.outcome.balances[0]!;
    say(`  ${payments} payments both ways over DIDComm: Alice ${ton(fa!)} TON, Bob ${ton(fb!)} TON`);

    const [aliceClose] = await alice.agent.modules.perun.close(first.id);
    const [bobClose] = (await bob.agent.modules.perun.client!.settlement(first.id)) ?? [];
    const settled =
      aliceClose?.amount === fa &&
      bobClose?.amount === fb &&
      (await chain.balance(alice.receiver)) === fa &&
      (await chain.balance(bob.receiver)) === fb;
    say(
      `  closed cooperatively: the contract paid Alice ${ton(await chain.balance(alice.receiver))} TON and Bob ${ton(await chain.balance(bob.receiver))} TON`,
    );

    const withdrawn = { alice: fa!, bob: fb! };
    let refuted = false;
    let second: { id: Hex; alice: bigint; bob: bigint } | undefined;
    if (dispute) {
      say('\nBob opens a second channel, pays Alice, then registers the opening state on chain');
      const { id } = await bob.agent.modules.perun.openChannel({
        connectionId: ab.ours.id,
        allocation: allocation(5n * TON, 5n * TON),
        challengeDuration: CHALLENGE,
      });
      await waitFor(alice, (e) => e.type === 'opened' && e.channelId === id);
      const opening = (await bob.store.getChannel(id))!;
      for (let i = 0; i < 3; i++) await bob.agent.modules.perun.pay(id, TON);
      const latest = alice.agent.modules.perun.client!.channel(id).state!;
      // Bob proposed: he is participant 0 of this channel
      const [sb, sa] = latest.outcome.balances[0]! as [bigint, bigint];
      second = { id, alice: sa, bob: sb };
      await bob.env.adjudicator.register({
        params: opening.params,
        state: opening.current!.state,
        sigs: opening.current!.sigs,
      });
      say(
        `  Bob registered version ${opening.current!.state.version} (Bob 5 TON); the latest is ${latest.version}`,
      );
      await waitFor(alice, (e) => e.type === 'registered' && e.channelId === id && e.by === 'chain');
      await waitFor(alice, (e) => e.type === 'phase' && e.channelId === id && e.to === 'Registered');
      const onChain = await alice.env.adjudicator.dispute(id);
      refuted = onChain.version === latest.version;
      say(`  Alice's watcher refuted it: the contract holds version ${onChain.version}`);
      await chain.advance(Number(CHALLENGE) + 1);
      // what each withdrew (their receivers, paid twice now, also pay the chain's storage fee)
      const paidA = (await alice.agent.modules.perun.client!.settlement(id))?.[0]?.amount ?? 0n;
      const paidB = (await bob.env.adjudicator.withdraw(opening.params, latest, 0))[0]?.amount ?? 0n;
      withdrawn.alice += paidA;
      withdrawn.bob += paidB;
      refuted = refuted && paidA === sa && paidB === sb;
      say(
        `  after the challenge duration the contract paid Alice ${ton(paidA)} TON and Bob ${ton(paidB)} TON`,
      );
    }
    const ok = settled && (!dispute || refuted);
    return {
      ok,
      report: {
        backend: 'ton',
        settled,
        disputed: dispute,
        refuted,
        payments,
        alice_nanoton: withdrawn.alice.toString(),
        bob_nanoton: withdrawn.bob.toString(),
        first_channel: { alice_nanoton: fa!.toString(), bob_nanoton: fb!.toString() },
        ...(second === undefined
          ? {}
          : {
              second_channel: { alice_nanoton: second.alice.toString(), bob_nanoton: second.bob.toString() },
            }),
      },
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}
