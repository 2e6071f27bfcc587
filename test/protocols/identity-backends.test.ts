// Address proofs and peer credentials per backend: a TON address (an Ed25519 key) is proven with
// an Ed25519 signature over the proof's binding and its backend, an Ethereum address as before
// (EIP-191, a proof that names no backend). A proof with any field changed, or signed by the
// other backend's key, proves nothing; a credential names its backend, and the verifier's policy
// reads the address of that backend (absent: ethereum).
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import { TonSigner } from '../../src/channels/ton/signer.js';
import {
  addressProofDigest,
  provenAddress,
  signAddressProof,
  type AddressProofAnswer,
  type AddressProofBinding,
} from '../../src/protocols/identity/address-proof.js';
import { PeerNotAuthorizedError } from '../../src/protocols/identity/errors.js';
import { addressClaims, peerCredentialJson } from '../../src/protocols/identity/peer-credential.js';
import { checkPresentation } from '../../src/protocols/identity/policy.js';
import { peerPresentation, type Vp } from './identity-samples.js';

const binding: AddressProofBinding = {
  verifierDid: 'did:peer:2.Ez6LSverifier',
  holderDid: 'did:peer:2.Ez6LSholder',
  challenge: 'c2FtZSBjaGFsbGVuZ2U',
  identityDid: 'did:key:z6MkHolder',
};
const ton = TonSigner.random();
const eth = EthereumSigner.random();
const tonProof = (): AddressProofAnswer => ({
  address: ton.address,
  signature: signAddressProof(ton, binding),
  backend: 'ton',
});

it('a TON address proof verifies, for the address it names, as TON', () => {
  expect(provenAddress(binding, tonProof())).toEqual({ backend: 'ton', address: ton.address.toLowerCase() });
  expect(
    provenAddress(binding, { ...tonProof(), address: ton.address.toUpperCase().replace('0X', '0x') }),
  ).toEqual({
    backend: 'ton',
    address: ton.address.toLowerCase(),
  });
});

it('the Ethereum proof keeps its form: EIP-191 over the same digest as before, no backend field', () => {
  const { identityDid: _, ...plain } = binding;
  const text = `perun-agent address proof v1\nverifier: ${plain.verifierDid}\nholder: ${plain.holderDid}\nchallenge: ${plain.challenge}`;
  expect(addressProofDigest(plain)).toEqual(keccak_256(new TextEncoder().encode(text)));
  const signature = signAddressProof(eth, plain);
  expect(signature).toBe(eth.signHash(keccak_256(new TextEncoder().encode(text))));
  expect(provenAddress(plain, { address: eth.address, signature })).toEqual({
    backend: 'ethereum',
    address: eth.address,
  });
  expect(provenAddress(plain, { address: eth.address, signature, backend: 'ethereum' })).toEqual({
    backend: 'ethereum',
    address: eth.address,
  });
});

it.each<[string, () => [AddressProofBinding, AddressProofAnswer]]>([
  ['another challenge', () => [{ ...binding, challenge: 'b3RoZXI' }, tonProof()]],
  ['another verifier DID', () => [{ ...binding, verifierDid: 'did:peer:2.Ez6LSother' }, tonProof()]],
  ['another holder DID', () => [{ ...binding, holderDid: 'did:peer:2.Ez6LSother' }, tonProof()]],
  ['another identity DID', () => [{ ...binding, identityDid: 'did:key:z6MkOther' }, tonProof()]],
  ['no identity DID', () => [{ ...binding, identityDid: undefined }, tonProof()]],
  ['another address', () => [binding, { ...tonProof(), address: TonSigner.random().address }]],
  ['a flipped signature bit', () => [binding, { ...tonProof(), signature: flip(tonProof().signature) }]],
  ['no backend (read as Ethereum)', () => [binding, { ...tonProof(), backend: undefined }]],
  ['the Ethereum backend', () => [binding, { ...tonProof(), backend: 'ethereum' }]],
  ['an unknown backend', () => [binding, { ...tonProof(), backend: 'solana' }]],
  [
    'a TON proof signed by an Ethereum key',
    () => [binding, { address: ton.address, signature: signAddressProof(eth, binding), backend: 'ton' }],
  ],
  [
    'an Ethereum proof signed by a TON key',
    () => [binding, { address: eth.address, signature: signAddressProof(ton, binding) }],
  ],
  [
    'an Ethereum signature for a TON address',
    () => [binding, { address: eth.address, signature: signAddressProof(eth, binding), backend: 'ton' }],
  ],
])('a proof with %s proves nothing', (_, make) => {
  const [b, proof] = make();
  expect(provenAddress(b, proof)).toBeUndefined();
});

function flip(sig: string): string {
  const last = parseInt(sig.slice(-1), 16) ^ 1;
  return sig.slice(0, -1) + last.toString(16);
}

describe('credentials name their backend', () => {
  const ISSUER = 'did:key:z6MkIssuer';
  const PEER = 'did:peer:2.Ez6LSpeer';
  const connection = { id: 'conn-1', theirDid: PEER, did: 'did:peer:2.Ez6LSme' } as DidCommConnectionRecord;
  const policy = { trustedIssuers: [ISSUER] };
  const tonPresentation = (): Vp => {
    const vp = peerPresentation({ issuer: ISSUER, holder: PEER, address: '', spendingLimit: '5' });
    const subject = vp.verifiableCredential[0].credentialSubject;
    delete subject.ethereumAddress;
    Object.assign(subject, { backend: 'ton', tonAddress: ton.address });
    return vp;
  };

  it('a TON credential binds the TON address; an Ethereum one stays as it was', () => {
    const tonVc = peerCredentialJson(ISSUER, PEER, {
      backend: 'ton',
      tonAddress: ton.address,
      name: 'Tom',
      spendingLimit: 5n,
    });
    expect(tonVc.credentialSubject).toEqual({
      id: PEER,
      backend: 'ton',
      tonAddress: ton.address.toLowerCase(),
      name: 'Tom',
      spendingLimit: '5',
    });
    const ethVc = peerCredentialJson(ISSUER, PEER, {
      ethereumAddress: eth.address,
      name: 'Eve',
      spendingLimit: 5n,
    });
    expect(Object.keys(ethVc.credentialSubject)).toEqual(['id', 'ethereumAddress', 'name', 'spendingLimit']);
    expect(() =>
      peerCredentialJson(ISSUER, PEER, {
        backend: 'ton',
        tonAddress: eth.address,
        name: 'x',
        spendingLimit: 1n,
      }),
    ).toThrow(RangeError);
    expect(addressClaims({ address: ton.address, backend: 'ton' })).toEqual({
      backend: 'ton',
      tonAddress: ton.address,
    });
    expect(addressClaims({ address: eth.address })).toEqual({ ethereumAddress: eth.address });
  });

  it('the policy reads the TON address of a TON credential', () => {
    expect(checkPresentation(tonPresentation(), connection, policy)).toMatchObject({
      backend: 'ton',
      address: ton.address.toLowerCase(),
    });
    const eth = checkPresentation(
      peerPresentation({
        issuer: ISSUER,
        holder: PEER,
        address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
        spendingLimit: '5',
      }),
      connection,
      policy,
    );
    expect(eth.backend).toBeUndefined();
  });

  it.each<[string, (s: Record<string, unknown>) => void]>([
    ['an unknown backend', (s) => (s.backend = 'solana')],
    [
      'an Ethereum address as its TON address',
      (s) => (s.tonAddress = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'),
    ],
    [
      'no TON address, only an Ethereum one',
      (s) => {
        delete s.tonAddress;
        s.ethereumAddress = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
      },
    ],
  ])('a TON credential with %s is refused: missing-claim', (_, change) => {
    const vp = tonPresentation();
    change(vp.verifiableCredential[0].credentialSubject as Record<string, unknown>);
    expect(() => checkPresentation(vp, connection, policy)).toThrow(PeerNotAuthorizedError);
    expect(() => checkPresentation(vp, connection, policy)).toThrow(/^missing-claim: /);
  });
});
