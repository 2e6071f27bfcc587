// A credential sold over a pay-for-credential app channel, between agent processes: the Issuer
// (who holds a peer credential of its own and trusts itself) offers Alice a degree credential for
// 0.05 ETH over DIDComm; Alice buys it, which opens an app channel that both gate as any channel;
// the Issuer's update reveals its signature over the credential and takes the price; Alice keeps
// the completed credential, and the final state settles on chain to the wei. Then Alice's agent
// dies as a delivery arrives: the Issuer's agent enforces it on chain (register, progress with his
// signature alone, conclude) and takes the price; Alice's, restarted, completes the credential
// from the progression it reads on chain.
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther } from 'ethers';
import { faucet, runChain, type RunningChain } from '../../src/agent/node/chain.js';
import type {
  ConnectionView,
  CredentialSaleView,
  NodeEventWithId,
  SettlementView,
  SignedCredentialView,
} from '../../src/agent/node/types.js';
import {
  AgentProcess,
  connectAgents,
  initAgentDir,
  stopAllProcesses,
  type ApiFailure,
} from '../../src/agent/process/agent-process.js';
import {
  credentialDigest,
  verifyCredentialSignature,
} from '../../src/channels/ethereum/apps/credential-payment.js';
import { parseEthereumConfig } from '../../src/channels/ethereum/config.js';

jest.setTimeout(180_000);

let root: string;
let chain: RunningChain;
let issuer: AgentProcess;
let alice: AgentProcess;
let toAlice: ConnectionView;

type SaleEvent = NodeEventWithId & { type: 'credential-sale' };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'perun-e2e-sale-'));
  const chainFile = join(root, 'chain.json');
  chain = await runChain({ out: chainFile });
  const config = parseEthereumConfig(chain.config);
  const i = await initAgentDir(root, 'Issuer', { chain: chainFile, autoIssueSpendingLimit: '10' });
  const started = await AgentProcess.start('Issuer', i.dataDir, i.passphrase);
  // The Issuer certifies itself, and trusts itself, so that it opens channels gated like anyone.
  const own = await started.api<SignedCredentialView>('POST', '/credentials/sign', {
    subject: started.info.did,
    name: 'Issuer',
    spendingLimit: '10',
    ethereumAddress: started.info.address,
  });
  await started.api('POST', '/credentials/import', { credential: own.credential });
  const issuerDid = started.info.issuerDid;
  await started.stop();
  issuer = await AgentProcess.start('Issuer', i.dataDir, i.passphrase, { PERUN_TRUSTED_ISSUERS: issuerDid });
  const a = await initAgentDir(root, 'Alice', { chain: chainFile, trustedIssuers: [issuerDid] });
  for (const address of [i.address, a.address])
    await faucet({ chain: config, address, amount: parseEther('5') });
  alice = await AgentProcess.start('Alice', a.dataDir, a.passphrase);
  const c = await connectAgents(issuer, alice);
  await alice.api('POST', '/credentials/request', { connectionId: c.id, name: 'Alice' });
  toAlice = (await issuer.api<ConnectionView[]>('GET', '/connections')).find((x) => x.theirDid === c.ourDid)!;
});

afterAll(async () => {
  await stopAllProcesses();
  await chain?.stop();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

it('Alice buys a degree credential: the Issuer’s signature takes the price, and both settle exactly', async () => {
  const offered = alice.event<SaleEvent>((e) => e.type === 'credential-sale' && e.sale.status === 'offered');
  const sale = await issuer.api<CredentialSaleView>('POST', '/credential-sales', {
    connectionId: toAlice.id,
    claims: JSON.stringify({ degree: 'MSc Distributed Systems' }),
    price: '0.05',
  });
  expect(sale).toMatchObject({ role: 'issuer', status: 'offered', price: '0.05' });
  const seen = (await offered).sale;
  expect(seen).toMatchObject({ id: sale.id, role: 'holder', digest: sale.digest, price: '0.05' });
  expect(credentialDigest(seen.credential)).toBe(sale.digest);

  const delivered = alice.event<SaleEvent>(
    (e) => e.type === 'credential-sale' && e.sale.status === 'delivered',
  );
  const settled = [alice, issuer].map((p) =>
    p.event<NodeEventWithId & { type: 'settled' }>((e) => e.type === 'settled'),
  );
  const bought = await alice.api<CredentialSaleView>('POST', `/credential-sales/${sale.id}/buy`);
  expect(bought.channelId).toMatch(/^0x[0-9a-f]{64}$/);

  const done = (await delivered).sale;
  const { proof, ...credential } = done.credential as { proof: { proofValue: string } };
  expect(credentialDigest(credential)).toBe(sale.digest);
  expect(verifyCredentialSignature(sale.digest, proof.proofValue, issuer.info.address)).toBe(true);
  expect(credential).toMatchObject({
    issuer: `did:pkh:eip155:${chain.config['chainId'] as string}:${issuer.info.address}`,
    credentialSubject: { id: alice.info.did, degree: 'MSc Distributed Systems' },
  });

  const [aliceGot, issuerGot] = (await Promise.all(settled)).map((e) => e.settlement as SettlementView);
  expect(aliceGot!.withdrawn[0]?.amount).toBe('0');
  expect(issuerGot!.withdrawn[0]?.amount).toBe('0.05');
  const sales = await alice.api<CredentialSaleView[]>('GET', '/credential-sales');
  expect(sales.find((s) => s.id === sale.id)?.status).toMatch(/^(delivered|settled)$/);
});

it('a sale cannot be bought twice, nor one that does not exist', async () => {
  const [sale] = await alice.api<CredentialSaleView[]>('GET', '/credential-sales');
  const twice = await alice.api('POST', `/credential-sales/${sale!.id}/buy`).catch((e: unknown) => e);
  expect((twice as ApiFailure).status).toBe(409);
  const ghost = await alice
    .api('POST', '/credential-sales/00000000-0000-4000-8000-000000000000/buy')
    .catch((e: unknown) => e);
  expect((ghost as ApiFailure).status).toBe(404);
});

it('Alice’s agent dies as the delivery arrives: the Issuer enforces it on chain and takes the price; Alice, restarted, finds her credential there', async () => {
  const failFile = join(root, 'alice-failpoint');
  await alice.stop();
  alice = await AgentProcess.start('Alice', alice.dataDir, alice.passphrase, {
    PERUN_FAILPOINTS_FILE: failFile,
  });
  const sale = await alice.event<SaleEvent>(
    (e) => e.type === 'credential-sale' && e.sale.status === 'offered',
    () =>
      issuer.api<CredentialSaleView>('POST', '/credential-sales', {
        connectionId: toAlice.id,
        claims: JSON.stringify({ degree: 'PhD Applied Cryptography' }),
        price: '0.05',
      }),
  );
  writeFileSync(failFile, 'update-received');
  const exited = new Promise((r) => alice.child.once('exit', r));
  const channelId = await issuer.event<NodeEventWithId & { type: 'dispute' }>(
    (e) => e.type === 'dispute' && e.by === 'us',
    // Alice dies on the Issuer's delivery, possibly before her buy request answered.
    () => alice.api('POST', `/credential-sales/${sale.sale.id}/buy`).catch(() => undefined),
  );
  await exited;
  const issuerPaid = issuer.event<NodeEventWithId & { type: 'settled' }>(
    (e) => e.type === 'settled' && e.settlement.channelId === channelId.channelId,
  );
  // The registered offer's challenge duration passes: the Issuer progresses it with his signature
  // alone; then the progression's.
  await issuer.event(
    (e) => e.type === 'dispute' && e.channelId === channelId.channelId && e.version === '1',
    () => chain.chain.increaseTime(61),
  );
  await chain.chain.increaseTime(61);
  expect((await issuerPaid).settlement.withdrawn[0]?.amount).toBe('0.05');

  // Alice, restarted, reads the delivery from the chain (her watcher's cursor) and completes it.
  alice = await AgentProcess.start('Alice', alice.dataDir, alice.passphrase);
  const deadline = Date.now() + 60_000;
  let mine: CredentialSaleView | undefined;
  while (Date.now() < deadline) {
    const sales = await alice.api<CredentialSaleView[]>('GET', '/credential-sales');
    mine = sales.find((s) => s.id === sale.sale.id);
    if (mine?.status === 'delivered' || mine?.status === 'settled') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const { proof, ...credential } = mine!.credential as { proof: { proofValue: string } };
  expect(credentialDigest(credential)).toBe(mine!.digest);
  expect(verifyCredentialSignature(mine!.digest, proof.proofValue, issuer.info.address)).toBe(true);
});
