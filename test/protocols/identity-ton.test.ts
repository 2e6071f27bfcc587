// Peer credentials and address proofs for a TON channel address, between Credo agents in one
// process: the Issuer certifies Tom's TON address (his Ed25519 channel key), which he proves with
// that key; a verifier accepts him with the TON address and its backend. Eve holds a credential for
// Tom's TON address but answers address proofs with her Ethereum key: refused with
// address-mismatch, recorded as such, nothing verified.
import { TonSigner } from '../../src/channels/ton/signer.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import {
  PeerNotAuthorizedError,
  type PeerCredentialIssuer,
  type PeerPolicy,
} from '../../src/protocols/identity/index.js';
import type { World } from '../ethereum/harness.js';
import { agentSide, closeSides, connect, type Side } from './identity-harness.js';

const noChain = {} as World; // sides without a chain account never read it
const tom = TonSigner.random();
let issuer: PeerCredentialIssuer;
let verifier: Side;
let tomSide: Side;
let eveSide: Side;
let policy: PeerPolicy;

beforeAll(async () => {
  const issuerSide = await agentSide(noChain, 'Issuer');
  issuer = await issuerSide.agent.modules.identity.createIssuer();
  policy = { trustedIssuers: [issuer.did], requireAddressProof: true };
  verifier = await agentSide(noChain, 'Verifier');
  tomSide = await agentSide(noChain, 'Tom');
  tomSide.agent.modules.identity.enablePeerHolder({ signer: tom });
  eveSide = await agentSide(noChain, 'Eve');
  eveSide.agent.modules.identity.enablePeerHolder({ signer: EthereumSigner.random() });
  const tonClaims = { backend: 'ton' as const, tonAddress: tom.address, spendingLimit: 5n };
  const [toTom] = await connect(issuerSide, tomSide);
  await issuer.issue(toTom.id, { ...tonClaims, name: 'Tom' });
  const [toEve] = await connect(issuerSide, eveSide);
  await issuer.issue(toEve.id, { ...tonClaims, name: 'Eve' });
}, 60_000);

afterAll(() => closeSides());

it('a holder proves its TON address with its Ed25519 key: the verifier accepts it as TON', async () => {
  const [vt] = await connect(verifier, tomSide);
  expect(await verifier.agent.modules.identity.provenHolder(vt.id)).toMatchObject({
    address: tom.address,
    backend: 'ton',
  });
  const peer = await verifier.agent.modules.identity.verifyPeer(vt.id, policy);
  expect(peer).toMatchObject({
    did: tomSide.did,
    address: tom.address,
    backend: 'ton',
    name: 'Tom',
    addressProven: true,
  });
}, 30_000);

it('a TON credential proven with an Ethereum key is refused (address-mismatch) and nothing is verified', async () => {
  const [ve] = await connect(verifier, eveSide);
  const err = await verifier.agent.modules.identity.verifyPeer(ve.id, policy).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PeerNotAuthorizedError);
  expect((err as PeerNotAuthorizedError).code).toBe('address-mismatch');
  expect((err as PeerNotAuthorizedError).details).toMatchObject({
    credentialBackend: 'ton',
    proofBackend: 'ethereum',
  });
  const history = await verifier.agent.modules.identity.peerVerifications(ve.id);
  expect(history.map((r) => r.outcome)).toEqual(['address-mismatch']);
  expect(verifier.agent.modules.identity.peerIdentityOf(ve.id)).toBeUndefined();
}, 30_000);
