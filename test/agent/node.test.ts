// Three nodes in one process, each on its own SQLite file and DIDComm port, sharing a chain: the
// Issuer certifies Alice (issue-credential, her address proven on request) and Bob (who asks for
// his credential; the Issuer answers automatically). Bob invites Alice; Alice opens a gated
// channel, they pay and message each other, and close; the on-chain balances move exactly.
// Manual decisions: Bob's node asks its user about a large proposal and rejects it on request.
// A finished presentation exchange is deleted on both sides.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RepositoryEventTypes, type BaseRecord, type RecordDeletedEvent } from '@credo-ts/core';
import { DidCommMessageRepository, DidCommProofExchangeRecord } from '@credo-ts/didcomm';
import { parseEther } from 'ethers';
import { faucet, runChain, type RunningChain } from '../../src/agent/node/chain.js';
import { initAgent, loadAgentConfig } from '../../src/agent/node/config.js';
import { PerunNode } from '../../src/agent/node/node.js';
import { toApiError } from '../../src/agent/api/api-error.js';
import type { NodeEventWithId } from '../../src/agent/node/types.js';
import { parseEthereumConfig } from '../../src/channels/ethereum/config.js';

let dir: string;
let chain: RunningChain;
const nodes: PerunNode[] = [];
let issuer: PerunNode;
let alice: PerunNode;
let bob: PerunNode;

async function node(
  label: string,
  overrides: Record<string, unknown> = {},
  timeoutMs?: number,
): Promise<PerunNode> {
  const dataDir = join(dir, label);
  await initAgent({
    dataDir,
    label,
    passphrase: `${label} passphrase`,
    scrypt: { N: 2 ** 12 },
    overrides: { chain: join(dir, 'chain.json'), ...overrides },
  });
  const config = loadAgentConfig({ dataDir });
  const n = await PerunNode.start({
    config,
    passphrase: `${label} passphrase`,
    chain: parseEthereumConfig(chain.config),
    chainPollMs: 20,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  nodes.push(n);
  await faucet({
    chain: parseEthereumConfig(chain.config),
    address: n.signer.address,
    amount: parseEther('50'),
  });
  return n;
}

function next(n: PerunNode, match: (e: NodeEventWithId) => boolean): Promise<NodeEventWithId> {
  return new Promise((resolve) => {
    const stop = n.subscribe((e) => {
      if (match(e)) {
        stop();
        resolve(e);
      }
    });
  });
}

async function connect(inviter: PerunNode, invitee: PerunNode) {
  const invitation = await inviter.createInvitation();
  const theirs = await invitee.acceptInvitation(invitation.url);
  return theirs;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'perun-node-'));
  chain = await runChain({ out: join(dir, 'chain.json') });
  issuer = await node('Issuer', { autoIssueSpendingLimit: '20' });
  const trusted = { trustedIssuers: [issuer.info().issuerDid] };
  alice = await node('Alice', trusted);
  bob = await node('Bob', { ...trusted, autoAcceptMaxFund: '1' });
}, 120_000);

afterAll(async () => {
  for (const n of nodes) await n.stop();
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the Issuer certifies Alice on its initiative and Bob on his request', async () => {
  const toAlice = await connect(alice, issuer).then(async () => (await issuer.connections())[0]!);
  const issued = await issuer.issueCredential({
    connectionId: toAlice.id,
    name: 'Alice',
    spendingLimit: '10',
  });
  expect(issued.claims).toEqual({
    ethereumAddress: alice.signer.address,
    name: 'Alice',
    spendingLimit: '10',
  });
  expect(issued.subject).toBe(alice.info().did);

  const toIssuer = await connect(issuer, bob);
  const mine = await bob.requestCredential(toIssuer.id, 'Bob');
  expect(mine.claims).toEqual({ ethereumAddress: bob.signer.address, name: 'Bob', spendingLimit: '20' });
  expect(mine.issuer).toBe(issuer.info().issuerDid);
  expect((await bob.credentials()).map((c) => c.claims.name)).toEqual(['Bob']);
  expect((await alice.credentials()).map((c) => c.claims.name)).toEqual(['Alice']);
});

test('Alice opens a gated channel with Bob, they pay and message each other, then close', async () => {
  const ab = await connect(bob, alice);
  expect(ab.ready).toBe(true);
  const ba = (await bob.connections()).find((c) => c.theirDid === ab.ourDid)!;
  expect(ba).toBeDefined();

  const opened = next(bob, (e) => e.type === 'channel-opened');
  const channel = await alice.openChannel({ connectionId: ab.id, fund: '5', peerFund: '1' });
  expect(channel).toMatchObject({ ourBalance: '5', theirBalance: '1', idx: 0, phase: 'Acting' });
  await opened;

  for (let i = 0; i < 5; i++) await alice.pay(channel.id, '0.1');
  const paid = await bob.pay(channel.id, '0.25');
  expect(paid).toMatchObject({ direction: 'sent', amount: '0.25', ourBalance: '1.25', theirBalance: '4.75' });
  expect(alice.channel(channel.id)).toMatchObject({ ourBalance: '4.75', theirBalance: '1.25', version: '6' });
  expect((await alice.payments(channel.id)).filter((p) => p.direction === 'sent')).toHaveLength(5);

  const heard = next(bob, (e) => e.type === 'message-received');
  await alice.sendMessage(ab.id, 'thanks for the coffee');
  const got = await heard;
  expect(got.type === 'message-received' && got.message.content).toBe('thanks for the coffee');
  expect((await bob.messages(ba.id)).map((m) => [m.direction, m.content])).toEqual([
    ['received', 'thanks for the coffee'],
  ]);

  const before = await bob.balance();
  const settled = next(bob, (e) => e.type === 'settled');
  const closed = await alice.close(channel.id);
  expect(closed.withdrawn).toEqual([{ asset: 'ETH', amount: '4.75', receiver: alice.signer.address }]);
  const bobs = await settled;
  expect(bobs.type === 'settled' && bobs.settlement.withdrawn[0]!.amount).toBe('1.25');
  const after = await bob.balance();
  expect(parseEther(after.onChain)).toBeGreaterThan(parseEther(before.onChain) + parseEther('1.2'));
});

test('a channel in the chain’s test token: Alice funds it with PRN, they pay in PRN and close; token balances move exactly', async () => {
  const config = parseEthereumConfig(chain.config);
  await faucet({ chain: config, address: alice.signer.address, amount: parseEther('100'), token: 'PRN' });
  const ab = (await alice.connections()).find((c) => c.theirLabel === 'Bob')!;
  expect(alice.info().assets.map((a) => a.symbol)).toEqual(['ETH', 'PRN']);
  const channel = await alice.openChannel({ connectionId: ab.id, fund: '40', asset: 'prn' });
  expect(channel).toMatchObject({ asset: 'PRN', ourBalance: '40', theirBalance: '0' });
  expect(await alice.pay(channel.id, '2.5')).toMatchObject({
    asset: 'PRN',
    amount: '2.5',
    ourBalance: '37.5',
  });
  await bob.pay(channel.id, '0.5');
  expect((await alice.balance()).tokens).toEqual([
    { asset: 'PRN', token: expect.any(String), onChain: '60', inChannels: '38' },
  ]);
  const settled = next(bob, (e) => e.type === 'settled' && e.settlement.channelId === channel.id);
  expect((await alice.close(channel.id)).withdrawn).toEqual([
    { asset: 'PRN', amount: '38', receiver: alice.signer.address },
  ]);
  await settled;
  expect((await alice.balance()).tokens[0]).toMatchObject({ onChain: '98', inChannels: '0' });
  expect((await bob.balance()).tokens[0]).toMatchObject({ onChain: '2', inChannels: '0' });
  await expect(alice.openChannel({ connectionId: ab.id, fund: '1', asset: 'DOGE' })).rejects.toMatchObject({
    code: 'UNSUPPORTED_ASSET',
  });
});

test('a proposal above the auto-accept limit waits for Bob, who rejects it', async () => {
  const ab = (await alice.connections()).find((c) => c.theirLabel === 'Bob')!;
  const asked = next(bob, (e) => e.type === 'proposal' && e.proposal.status === 'pending');
  const opening = alice.openChannel({ connectionId: ab.id, fund: '1', peerFund: '2' });
  opening.catch(() => undefined);
  const e = await asked;
  if (e.type !== 'proposal') throw new Error('unreachable');
  expect(e.proposal).toMatchObject({ ourFund: '2', peerFund: '1', claims: { name: 'Alice' } });
  expect(bob.proposals().map((p) => p.status)).toContain('pending');
  await bob.decideProposal(e.proposal.id, false, 'too much for me');
  await expect(opening).rejects.toMatchObject({ code: 'PROPOSAL_REJECTED' });
  expect(bob.channels()).toHaveLength(2);
});

test('a gated opening leaves no presentation exchange behind: both nodes delete theirs once done', async () => {
  const ab = (await alice.connections()).find((c) => c.theirLabel === 'Bob')!;
  const ba = (await bob.connections()).find((c) => c.theirLabel === 'Alice')!;
  // The verifications of the earlier channels would serve this one: both ask again.
  await alice.agent.modules.identity.forgetVerifiedPeer(ab.id);
  await bob.agent.modules.identity.forgetVerifiedPeer(ba.id);
  const messages = (n: PerunNode) =>
    n.agent.dependencyManager.resolve(DidCommMessageRepository).getAll(n.agent.context);
  const before = await Promise.all([alice, bob].map(async (n) => (await messages(n)).length));
  // Each node verifies the other once: it deletes one exchange as verifier, one as prover.
  const deleted = [alice, bob].map(
    (n) =>
      new Promise<void>((resolve) => {
        let left = 2;
        const on = (e: RecordDeletedEvent<BaseRecord>) => {
          if (e.payload.record.type === DidCommProofExchangeRecord.type && --left === 0) {
            n.agent.events.off(RepositoryEventTypes.RecordDeleted, on);
            resolve();
          }
        };
        n.agent.events.on(RepositoryEventTypes.RecordDeleted, on);
      }),
  );
  const channel = await alice.openChannel({ connectionId: ab.id, fund: '0.5' });
  await Promise.all(deleted);
  for (const [i, n] of [alice, bob].entries()) {
    expect(await n.agent.didcomm.proofs.getAll()).toEqual([]);
    expect(await messages(n)).toHaveLength(before[i]!);
  }
  expect((await alice.pay(channel.id, '0.1')).ourBalance).toBe('0.4');
});

test('an inviter that never answers: accepting its invitation fails as a peer timeout (504) and leaves no half-made connection', async () => {
  // Alice's invitation, its endpoint swapped for a server that takes every message and answers none.
  const sink = createServer((req, res) => req.resume().on('end', () => res.end()));
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  try {
    const url = new URL((await alice.createInvitation()).url);
    const oob = JSON.parse(Buffer.from(url.searchParams.get('oob')!, 'base64url').toString()) as {
      services: { serviceEndpoint: string }[];
    };
    for (const s of oob.services)
      s.serviceEndpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
    url.searchParams.set('oob', Buffer.from(JSON.stringify(oob)).toString('base64url'));
    const carol = await node('Carol', {}, 1_500);
    const before = (await carol.connections()).length;
    const err = await carol.acceptInvitation(url.toString()).then(
      () => undefined,
      (e: unknown) => e,
    );
    const api = toApiError(err);
    expect(api.status).toBe(504);
    expect(api.body).toMatchObject({ category: 'peer', code: 'PEER_TIMEOUT' });
    expect((await carol.connections()).length).toBe(before);
  } finally {
    sink.close();
  }
});
