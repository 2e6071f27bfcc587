// The gate hands VerifiedPeersService the connection record it has just read (a proposal's
// connection, the proposer's REST request's), instead of its ID: the service takes that record
// as it is, reading no connection again, and refuses one that is not established or lacks a DID
// ('no-connection') before any verification.
import { expect, it, jest } from '@jest/globals';
import type { AgentContext } from '@credo-ts/core';
import { DidCommConnectionRecord, DidCommDidExchangeRole, DidCommDidExchangeState } from '@credo-ts/didcomm';
import { PeerNotAuthorizedError } from '../../src/protocols/identity/errors.js';
import type { PeerVerificationRepository } from '../../src/protocols/identity/peer-verification-record.js';
import type { PeerPolicy, VerifiedPeer } from '../../src/protocols/identity/policy.js';
import type { PeerVerifierService } from '../../src/protocols/identity/services/peer-verifier-service.js';
import { VerifiedPeersService } from '../../src/protocols/identity/services/verified-peers-service.js';

const policy: PeerPolicy = { trustedIssuers: ['did:key:z6Mkissuer'] };
const peer: VerifiedPeer = {
  connectionId: 'c1',
  did: 'did:peer:2.bob',
  address: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
  issuer: 'did:key:z6Mkissuer',
  claims: {},
  credential: { id: 'urn:uuid:1' },
} as unknown as VerifiedPeer;

/** A service whose verifier answers `peer`, on storage that holds nothing; a context that refuses any lookup. */
function service() {
  const verifyPeer = jest.fn(async (..._args: unknown[]) => peer);
  const records = {
    findByQuery: jest.fn(async () => []),
    save: jest.fn(async () => undefined),
  } as unknown as PeerVerificationRepository;
  const agentContext = {
    contextCorrelationId: 'ctx',
    resolve: () => {
      throw new Error('a connection was read again');
    },
  } as unknown as AgentContext;
  const peers = new VerifiedPeersService({ verifyPeer } as unknown as PeerVerifierService, records);
  return { peers, verifyPeer, agentContext };
}

const record = (
  state: DidCommDidExchangeState,
  dids = { did: 'did:peer:2.alice', theirDid: 'did:peer:2.bob' },
) => new DidCommConnectionRecord({ id: 'c1', role: DidCommDidExchangeRole.Responder, state, ...dids });

it('takes an established connection’s record as it is: no connection read again', async () => {
  const { peers, verifyPeer, agentContext } = service();
  await expect(peers.verify(agentContext, record(DidCommDidExchangeState.Completed), policy)).resolves.toBe(
    peer,
  );
  expect(verifyPeer).toHaveBeenCalledWith(agentContext, 'c1', policy, {});
});

it.each([
  ['not established', record(DidCommDidExchangeState.RequestSent)],
  [
    'without their DID',
    record(DidCommDidExchangeState.Completed, { did: 'did:peer:2.alice', theirDid: undefined! }),
  ],
])('refuses a connection %s before any verification', async (_what, connection) => {
  const { peers, verifyPeer, agentContext } = service();
  const err = await peers.verify(agentContext, connection, policy).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PeerNotAuthorizedError);
  expect((err as PeerNotAuthorizedError).code).toBe('no-connection');
  expect(verifyPeer).not.toHaveBeenCalled();
});
