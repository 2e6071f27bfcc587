// Dave verifies Carol, an agent that knows only the old URIs (./old-uri-agent.ts): his address-proof
// request under the new URI comes back as an unsupported type, goes again under the old URI, and
// Carol's proof, under it, names her address.
import { jest } from '@jest/globals';
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import { recoverAddressProof } from '../../src/protocols/identity/address-proof.js';
import { AddressProofService } from '../../src/protocols/identity/services/address-proof-service.js';
import { LEGACY_PROTOCOL_NAMESPACE } from '../../src/protocols/protocol-uris.js';
import { startWorld, type World } from '../ethereum/harness.js';
import * as identity from './identity-harness.js';
import { forgetNewNamespace } from './old-uri-agent.js';

jest.setTimeout(90_000);

let world: World;
let carol: identity.Side;
let dave: identity.Side;
let cd: DidCommConnectionRecord;
let dc: DidCommConnectionRecord;

beforeAll(async () => {
  world = await startWorld();
  carol = await identity.agentSide(world, 'Carol', 3);
  dave = await identity.agentSide(world, 'Dave');
  forgetNewNamespace(carol.agent);
  [dc, cd] = await identity.connect(dave, carol);
}, 120_000);

afterAll(async () => {
  await identity.closeSides();
  await world.stop();
});

test('Dave’s address-proof request goes again under the old URI and Carol’s proof answers it', async () => {
  const proofs = dave.agent.dependencyManager.resolve(AddressProofService);
  const proof = await proofs.request(dave.agent.context, dc, 'challenge-to-old').answer;
  expect(proof.type).toBe(`${LEGACY_PROTOCOL_NAMESPACE}perun-identity/1.0/address-proof`);
  expect(
    recoverAddressProof(
      { verifierDid: cd.theirDid!, holderDid: cd.did!, challenge: 'challenge-to-old' },
      proof.signature,
    ),
  ).toBe(carol.party!.signer.address);
  expect(proofs.pending.size).toBe(0);
});
