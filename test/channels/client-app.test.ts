// App channels through the channel client, on the embedded chain with the pay-for-credential app:
// Hana the holder locks a price for a credential Ivan the issuer will sign; Ivan's update reveals
// his signature and takes the price. The optimistic path, the refusals (an offer the app refuses,
// an app the peer does not know, an update the app refuses, a delivery with a forged signature),
// and the disputes: Hana vanishes after the offer and Ivan forces the delivery on chain (Hana
// learns the signature from the chain); Ivan vanishes and Hana takes her money back.
import {
  type CredentialPaymentData,
  credentialDigest,
  decodeCredentialPaymentData,
  deliver,
  encodeDelivery,
  encodeOffer,
  signCredential,
  verifyCredentialSignature,
} from '../../src/channels/ethereum/apps/credential-payment.js';
import { ChannelClientError, ValidationError } from '../../src/channels/errors.js';
import type { ChannelMessage, ChannelUpdateReject } from '../../src/channels/messages.js';
import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import type { Hex, State } from '../../src/channels/types.js';
import { MemoryBus } from '../../src/channels/wire/memory.js';
import type { World } from '../ethereum/harness.js';
import {
  appWorld,
  ethAllocation,
  ethBalance,
  open,
  waitForEvent,
  type ClientOverrides,
  type Person,
} from './client-harness.js';

const harness = appWorld();
const person = harness.person;
let world: World;
beforeAll(() => {
  world = harness.world();
});

const CREDENTIAL = {
  '@context': ['https://www.w3.org/2018/credentials/v1'],
  type: ['VerifiableCredential', 'UniversityDegreeCredential'],
  issuer: 'did:example:ivan',
  issuanceDate: '2026-12-05T00:00:00Z',
  credentialSubject: { id: 'did:example:hana', degree: 'MSc Distributed Systems' },
};
const DIGEST = credentialDigest(CREDENTIAL);
const PRICE = 60n;

/** Hana and Ivan on a fresh bus, started, each withdrawing to a fresh address. */
async function hanaAndIvan(ivan: ClientOverrides = {}) {
  const bus = new MemoryBus();
  const hana = person(bus, 1, 'Hana');
  const ivanP = person(bus, 2, 'Ivan', ivan);
  await Promise.all([hana.client.start(), ivanP.client.start()]);
  return { bus, hana, ivan: ivanP };
}

/** Hana offers PRICE for the credential: an app channel, Hana 100, Ivan 10. */
async function offer(hana: Person, ivan: Person, challengeDuration = 60n): Promise<Hex> {
  const info = await hana.client.proposeChannel({
    peer: ivan.name,
    peerAddress: ivan.party.signer.address,
    allocation: ethAllocation(world, 100n, 10n),
    challengeDuration,
    app: world.deployment.credentialPaymentApp,
    initData: encodeOffer({ credentialHash: DIGEST, price: PRICE }),
  });
  await waitForEvent(ivan, 'opened', (e) => e.channelId === info.id);
  return info.id;
}

const delivered = (s: State): Extract<CredentialPaymentData, { stage: 'DELIVERED' }> => {
  const d = decodeCredentialPaymentData(s.appData);
  if (d.stage !== 'DELIVERED') throw new Error('not delivered');
  return d;
};

it('Hana pays Ivan for a credential: his update reveals the signature, takes the price, and the channel settles', async () => {
  const { hana, ivan } = await hanaAndIvan();
  const id = await offer(hana, ivan);
  expect(hana.client.channel(id).state!.appData).toBe(encodeOffer({ credentialHash: DIGEST, price: PRICE }));

  const sig = signCredential(ivan.party.signer, DIGEST);
  await ivan.client.update(id, (s) => deliver(s, sig));

  const got = await waitForEvent(hana, 'updated', (e) => e.channelId === id && e.by === 'peer');
  const revealed = delivered(got.state).issuerSig;
  expect(verifyCredentialSignature(DIGEST, revealed, ivan.party.signer.address)).toBe(true);
  expect(got.state.outcome.balances[0]).toEqual([100n - PRICE, 10n + PRICE]);

  // The delivered state is final: both settle on chain at once.
  await Promise.all([
    waitForEvent(hana, 'settled', (e) => e.channelId === id),
    waitForEvent(ivan, 'settled', (e) => e.channelId === id),
  ]);
  expect(await ethBalance(world, hana.receiver)).toBe(100n - PRICE);
  expect(await ethBalance(world, ivan.receiver)).toBe(10n + PRICE);
});

describe('refusals', () => {
  it('an offer the app refuses (a price above Hana’s balance) is not even sent', async () => {
    const { bus, hana, ivan } = await hanaAndIvan();
    const sent = bus.sent;
    await expect(
      hana.client.proposeChannel({
        peer: ivan.name,
        peerAddress: ivan.party.signer.address,
        allocation: ethAllocation(world, 100n, 10n),
        challengeDuration: 60n,
        app: world.deployment.credentialPaymentApp,
        initData: encodeOffer({ credentialHash: DIGEST, price: 101n }),
      }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining('app refuses') });
    expect(bus.sent).toBe(sent);
  });

  it('Ivan refuses the channel of an app he does not know', async () => {
    const { hana, ivan } = await hanaAndIvan({ apps: [] });
    const err = await offer(hana, ivan).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelClientError);
    expect(err).toMatchObject({ code: 'PROPOSAL_REJECTED', message: expect.stringContaining('unknown app') });
  });

  it('an update the app refuses is refused before signing and changes nothing', async () => {
    const { bus, hana, ivan } = await hanaAndIvan();
    const id = await offer(hana, ivan);
    const before = hana.client.channel(id);
    const sent = bus.sent;
    // Hana cannot take the credential for less, nor deliver it herself.
    const cheaper = (s: State) => ({ ...s, appData: encodeOffer({ credentialHash: DIGEST, price: 1n }) });
    await expect(hana.client.update(id, cheaper)).rejects.toMatchObject({ code: 'APP_RULE' });
    const own = signCredential(hana.party.signer, DIGEST);
    await expect(hana.client.update(id, (s) => deliver(s, own))).rejects.toBeInstanceOf(ValidationError);
    expect(hana.client.channel(id)).toEqual(before);
    expect(bus.sent).toBe(sent);
  });

  it('a delivery whose credential signature is not Ivan’s is refused by Hana with APP_RULE', async () => {
    const { bus, hana, ivan } = await hanaAndIvan();
    const id = await offer(hana, ivan);
    const rejects: ChannelUpdateReject[] = [];
    bus.setFilter((from, to, msg: ChannelMessage) => {
      if (from === 'hana' && msg.type === 'channel-update-reject') rejects.push(msg);
      return msg;
    });
    const cur = hana.client.channel(id).state!;
    const forged = signCredential(hana.party.signer, DIGEST); // anyone's but Ivan's
    const next: State = {
      ...deliver(cur, forged),
      appData: encodeDelivery({ credentialHash: DIGEST, price: PRICE, issuerSig: forged }),
    };
    bus.enqueue('ivan', 'hana', {
      type: 'channel-update',
      state: next,
      actorIdx: 1,
      sig: ivan.party.signer.signState(next),
    });
    await bus.settle();
    expect(rejects).toEqual([expect.objectContaining({ version: 1n, code: 'APP_RULE' })]);
    expect(hana.client.channel(id).state!.version).toBe(0n);
  });
});

describe('disputes', () => {
  it('Hana goes silent after her offer: Ivan forces the delivery on chain, takes the price, and Hana learns the signature from the chain', async () => {
    const { bus, hana, ivan } = await hanaAndIvan({ responseTimeoutMs: 200 });
    const id = await offer(hana, ivan, 30n);
    bus.setFilter((_from, to, msg) => (to === 'hana' ? null : msg));

    const sig = signCredential(ivan.party.signer, DIGEST);
    const unanswered = await ivan.client.update(id, (s) => deliver(s, sig)).catch((e: unknown) => e);
    expect(unanswered).toMatchObject({ code: 'PEER_TIMEOUT' });
    expect(ivan.client.channel(id).phase).toBe('Signing');

    const forced = ivan.client.forceUpdate(id);
    await waitForEvent(ivan, 'registered', (e) => e.channelId === id && e.by === 'us');
    await world.chain.increaseTime(31);
    const progressed = await waitForEvent(ivan, 'progressed', (e) => e.channelId === id);
    expect(progressed).toMatchObject({ version: 1n, by: 'us', actorIdx: 1 });
    expect(await forced).toEqual([{ asset: 0, amount: 10n + PRICE }]);
    expect(await ethBalance(world, ivan.receiver)).toBe(10n + PRICE);

    // Hana's watcher saw the progression: the state holds Ivan's signature on the credential.
    const seen = await waitForEvent(hana, 'progressed', (e) => e.channelId === id);
    expect(seen.by).toBe('chain');
    expect(
      verifyCredentialSignature(DIGEST, delivered(seen.state).issuerSig, ivan.party.signer.address),
    ).toBe(true);
    await waitForEvent(hana, 'settled', (e) => e.channelId === id);
    expect(await ethBalance(world, hana.receiver)).toBe(100n - PRICE);
  });

  it('Hana reads the signature and refuses the delivery: Ivan, restarted, forces that same delivery on chain', async () => {
    let peeked: Hex | undefined;
    const bus = new MemoryBus();
    const hana = person(bus, 1, 'Hana', {
      onUpdate: (u) => {
        peeked = delivered(u.next).issuerSig; // she has what she wanted...
        return { accept: false, reason: 'not worth it' }; // ...and will not pay
      },
    });
    const ivanStore = new MemoryChannelStore();
    const ivan = person(bus, 2, 'Ivan', { store: ivanStore });
    await Promise.all([hana.client.start(), ivan.client.start()]);
    const id = await offer(hana, ivan, 30n);

    const sig = signCredential(ivan.party.signer, DIGEST);
    await expect(ivan.client.update(id, (s) => deliver(s, sig))).rejects.toMatchObject({
      code: 'UPDATE_REJECTED',
    });
    expect(peeked).toBe(sig);
    expect(ivan.client.channel(id)).toMatchObject({ phase: 'Acting', state: { version: 0n } });

    // Ivan's client restarts from its store: the refused delivery is remembered as his state at version 1.
    await ivan.client.close();
    bus.disconnect('ivan');
    bus.reconnect('ivan');
    const again = person(bus, 2, 'Ivan', { store: ivanStore, receiver: ivan.receiver });
    await again.client.start();
    // A different state at version 1 would be a second one: refused.
    await expect(again.client.forceUpdate(id, (s) => s)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });

    const forced = again.client.forceUpdate(id);
    await waitForEvent(again, 'registered', (e) => e.channelId === id && e.by === 'us');
    await world.chain.increaseTime(31);
    expect(await forced).toEqual([{ asset: 0, amount: 10n + PRICE }]);
    const seen = await waitForEvent(hana, 'progressed', (e) => e.channelId === id);
    expect(delivered(seen.state).issuerSig).toBe(sig);
    await waitForEvent(hana, 'settled', (e) => e.channelId === id);
    expect(await ethBalance(world, hana.receiver)).toBe(100n - PRICE);
    expect(await ethBalance(world, ivan.receiver)).toBe(10n + PRICE);
  });

  it('Ivan never delivers: Hana registers her offer and, when nobody progressed it, takes her money back', async () => {
    const { bus, hana, ivan } = await hanaAndIvan();
    const id = await offer(hana, ivan, 30n);
    bus.setFilter((_from, to, msg) => (to === 'ivan' ? null : msg));

    const disputed = hana.client.dispute(id);
    const registered = await waitForEvent(hana, 'registered', (e) => e.channelId === id && e.by === 'us');
    // An app channel's registration leaves one more challenge duration for a progression.
    await world.chain.increaseTime(31);
    await world.chain.increaseTime(31);
    expect(registered.version).toBe(0n);
    expect(await disputed).toEqual([{ asset: 0, amount: 100n }]);
    expect(await ethBalance(world, hana.receiver)).toBe(100n);
    await waitForEvent(ivan, 'settled', (e) => e.channelId === id);
    expect(await ethBalance(world, ivan.receiver)).toBe(10n);
  });

  it('forceUpdate refuses a channel without app, and an app channel with nothing to enforce', async () => {
    const { hana, ivan } = await hanaAndIvan();
    const plain = await open(world, hana, ivan, 5n, 5n);
    await expect(hana.client.forceUpdate(plain, (s) => s)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    const id = await offer(hana, ivan);
    await expect(ivan.client.forceUpdate(id)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(ivan.client.channel(id).phase).toBe('Acting');
    expect(hana.client.channel(plain).phase).toBe('Acting');
  });
});
