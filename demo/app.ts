// The app channel story (`npm run demo -- --app`): the pay-for-credential app channel. The Issuer
// certifies itself and Alice, offers her a credential for a price, and Alice buys it: her app
// channel locks the price, the Issuer's answer reveals its signature over the credential and takes
// the price, and the final state settles on chain.
import { parseEther } from 'ethers';
import {
  credentialDigest,
  verifyCredentialSignature,
} from '../src/channels/ethereum/apps/credential-payment.js';
import { faucet } from '../src/agent/node/chain.js';
import type {
  ChannelView,
  CredentialSaleView,
  NodeEventWithId,
  SignedCredentialView,
} from '../src/agent/node/types.js';
import { AgentProcess } from '../src/agent/process/agent-process.js';
import {
  connectBoth,
  movedExactly,
  onChain,
  outcome,
  requestCredential,
  startIssuer,
  startPeople,
  table,
  type Outcome,
  type SettledEvent,
  type Stage,
} from './stage.js';

/** What the Issuer asks for the credential it sells, ETH. */
const PRICE = '0.05';

type SaleEvent = NodeEventWithId & { type: 'credential-sale' };

/** The credential sale, its price PRICE. */
export async function credentialSaleStory(s: Stage): Promise<Outcome> {
  const { chain, provider } = s;
  const started = await startIssuer(s, '10');
  s.say('\nThe Issuer certifies itself and trusts itself, so that it takes channels gated like anyone');
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
  s.say(`  Issuer restarted (process ${issuer.child.pid}) trusting itself, address ${issuer.info.address}`);
  await faucet({ chain: s.config, address: dir.address, amount: parseEther('5') });
  const [alice] = (await startPeople(s, ['Alice'], { trustedIssuers: [issuerDid] }, '5')) as [AgentProcess];
  const people = [issuer, alice];

  s.say('Alice connects to the Issuer and asks for her credential; the Issuer answers automatically');
  const [toAlice, toIssuer] = await connectBoth(issuer, alice);
  const aliceCred = await requestCredential(issuer, alice, toIssuer.id);
  s.say(`  Alice holds: name ${aliceCred.claims.name}, address ${aliceCred.claims.ethereumAddress}`);

  const claims = { degree: 'MSc Distributed Systems' };
  s.say(`\nThe Issuer offers Alice a credential (${claims.degree}) for ${PRICE} ETH over DIDComm`);
  const offered = alice.event<SaleEvent>((e) => e.type === 'credential-sale' && e.sale.status === 'offered');
  const sale = await issuer.api<CredentialSaleView>('POST', '/credential-sales', {
    connectionId: toAlice.id,
    claims: JSON.stringify(claims),
    price: PRICE,
  });
  const seen = (await offered).sale;
  s.say(`  Alice has the credential unsigned, and its digest ${seen.digest.slice(0, 18)}…`);
  const startBalances = await onChain(people);
  await table(s, 'before the sale', people);

  s.say('\nAlice buys it: her app channel locks the price against the digest; both check credentials first');
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
  s.say(
    `  app channel ${bought.channelId!.slice(0, 18)}… open at version ${open.version}: ` +
      `Alice ${open.ourBalance} ETH, Issuer ${open.theirBalance} ETH`,
  );

  const done = (await delivered).sale;
  const last = await alice.api<ChannelView>('GET', `/channels/${bought.channelId!}`);
  s.say('The Issuer answers with an update that reveals its signature over the digest and takes the price');
  s.say(
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
  s.say(`  Alice's agent completes the credential with the signature as its proof (${proof.type}):`);
  s.say(`    type    ${(credential['type'] as string[]).join(', ')}`);
  s.say(`    issuer  ${credential['issuer'] as string}`);
  s.say(`    subject ${subject.id.slice(0, 40)}… (Alice), degree ${subject['degree'] as string}`);
  s.say(
    `    ${credentialVerified ? 'verifies' : 'DOES NOT VERIFY'}: its digest is the one paid for, and the` +
      ' signature recovers the Issuer’s address',
  );

  s.say('The final state settles on chain: concluded, and each withdraws its share');
  const [issuerOut, aliceOut] = (await settledBoth) as [SettledEvent, SettledEvent];
  const endBlock = await provider.getBlockNumber();
  const price = parseEther(PRICE);
  const settled =
    issuerOut.settlement.withdrawn[0]?.amount === PRICE &&
    aliceOut.settlement.withdrawn[0]?.amount === '0' &&
    (await movedExactly(provider, people, [price, -price], startBlock, endBlock));
  await table(
    s,
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
