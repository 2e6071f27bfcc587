// The identity module's peer directory (PeerIdentitiesService) and a proposer's claim: when the
// gate cannot check a proposer on an unbound connection, the claimed identity is remembered only
// so that the proposal can be answered there. Messages to a peer whose identity is bound to
// connections never go out on a connection that merely claimed it.
import type { AgentContext, EventEmitter } from '@credo-ts/core';
import {
  DidCommConnectionRecord,
  DidCommConnectionRepository,
  DidCommDidExchangeRole,
  DidCommDidExchangeState,
} from '@credo-ts/didcomm';

import type { PeerPolicy } from '../../src/protocols/identity/policy.js';
import {
  PEER_IDENTITY_TAG,
  PeerIdentitiesService,
} from '../../src/protocols/identity/services/peer-identities-service.js';

const ALICE = 'did:key:z6MkAlice';

function connection(id: string, state: DidCommDidExchangeState, identity?: string) {
  const record = new DidCommConnectionRecord({
    id,
    role: DidCommDidExchangeRole.Responder,
    state,
    did: `did:peer:2.ours-${id}`,
    theirDid: `did:peer:2.theirs-${id}`,
    createdAt: new Date(Date.UTC(2026, 0, 1)),
  });
  if (identity !== undefined) record.setTag(PEER_IDENTITY_TAG, identity);
  return record;
}

async function directory(records: DidCommConnectionRecord[]) {
  const events = { on: () => undefined, off: () => undefined } as unknown as EventEmitter;
  const agentContext = {
    resolve: (token: unknown) =>
      token === DidCommConnectionRepository
        ? { getAll: () => Promise.resolve(records) }
        : { findByTheirDid: () => Promise.resolve(null) },
  } as unknown as AgentContext;
  const peers = new PeerIdentitiesService(events);
  await peers.load(agentContext);
  // The gate's check cannot reach the proposer (it throws, as on a timeout).
  peers.useGate({} as PeerPolicy, undefined, () => Promise.reject(new Error('no answer')));
  return { peers, agentContext };
}

describe('a proposer claiming an identity the gate could not check', () => {
  it('never receives messages for a peer whose identity is bound elsewhere, even while that connection is not ready', async () => {
    const aliceOld = connection('alice-old', DidCommDidExchangeState.Abandoned, ALICE);
    const mallory = connection('mallory', DidCommDidExchangeState.Completed);
    const { peers, agentContext } = await directory([aliceOld, mallory]);

    expect(await peers.resolve(agentContext, mallory, '0xp1', ALICE)).toBe(ALICE);
    // The gate verifies the proposer on the connection the proposal came on.
    expect(peers.arrivedOn(ALICE)).toBe('mallory');
    expect(await peers.connectionFor(agentContext, ALICE)).toBeUndefined();
  });

  it('leaves a bound, ready connection the way to the peer', async () => {
    const alice = connection('alice', DidCommDidExchangeState.Completed, ALICE);
    const mallory = connection('mallory', DidCommDidExchangeState.Completed);
    const { peers, agentContext } = await directory([alice, mallory]);

    await peers.resolve(agentContext, mallory, '0xp1', ALICE);
    expect((await peers.connectionFor(agentContext, ALICE))?.id).toBe('alice');
  });

  it('answers a peer no connection is bound to on the connection its proposal came on', async () => {
    const stranger = connection('stranger', DidCommDidExchangeState.Completed);
    const { peers, agentContext } = await directory([stranger]);

    expect(await peers.resolve(agentContext, stranger, '0xp1', 'did:key:z6MkStranger')).toBe(
      'did:key:z6MkStranger',
    );
    expect((await peers.connectionFor(agentContext, 'did:key:z6MkStranger'))?.id).toBe('stranger');
  });
});
