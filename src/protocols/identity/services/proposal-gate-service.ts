// The gate in front of the channel client, both ways: a proposal is accepted only from a verified
// peer whose proposal names the verified address as its participant; we propose only to a
// verified peer, at its verified address. Both ways rely on an earlier verification of the peer on
// the connection while ./verified-peers-service.ts allows; a proposal the peer rejects ends that,
// and so does (recorded as a refusal) a proposal naming another address than the verified one.
import { injectable, type AgentContext } from '@credo-ts/core';
import { DidCommConnectionService } from '@credo-ts/didcomm';
import { getAddress, isAddress } from 'ethers';
import type {
  ChannelClient,
  ChannelInfo,
  Decision,
  IncomingProposal,
  ProposeRequest,
} from '../../../channels/client.js';
import { ChannelClientError } from '../../../channels/errors.js';
import { PeerNotAuthorizedError, refuse } from '../errors.js';
import type { PeerPolicy, VerifiedPeer } from '../policy.js';
import type { VerifyOptions } from './peer-verifier-service.js';
import { VerifiedPeersService } from './verified-peers-service.js';

export interface GateOptions {
  /** Called with every refusal (for logs and metrics). */
  onRefusal?: (proposal: IncomingProposal, error: PeerNotAuthorizedError) => void;
  verify?: VerifyOptions;
}

/** What the gate hands an accepted proposal to, with the verified peer. */
export type VerifiedProposalHandler = (
  p: IncomingProposal,
  peer: VerifiedPeer,
) => Decision | Promise<Decision>;

@injectable()
export class ProposalGateService {
  public constructor(
    private readonly connections: DidCommConnectionService,
    private readonly peers: VerifiedPeersService,
  ) {}

  /**
   * An `onProposal` for ChannelClient: verifies the proposing peer (its DID → our connection with
   * it → verifyPeer) and accepts only if the proposal's participant 0 is the verified address and
   * `inner` (if given) accepts. Any failure is a refusal; the client then stores nothing.
   */
  public gatedProposalHandler(
    agentContext: AgentContext,
    policy: PeerPolicy,
    inner?: VerifiedProposalHandler,
    options: GateOptions = {},
  ): (p: IncomingProposal) => Promise<Decision> {
    return async (p) => {
      try {
        const connection = await this.connections.findByTheirDid(agentContext, p.peer);
        if (connection === null || !connection.isReady)
          return refuse('no-connection', 'no established connection with the proposer', { peer: p.peer });
        const proposer = p.participants[p.proposerIdx ?? 0];
        const peer = await this.peers.verify(agentContext, connection.id, policy, options.verify, {
          address: proposer,
        });
        if (proposer === undefined || !isAddress(proposer) || getAddress(proposer) !== peer.address) {
          const err = new PeerNotAuthorizedError(
            'address-mismatch',
            'the proposal’s participant is not the verified address',
            { proposed: proposer, verified: peer.address },
          );
          await this.peers.recordRefusal(agentContext, connection, policy, err, options.verify);
          throw err;
        }
        return inner === undefined ? { accept: true } : await inner(p, peer);
      } catch (err) {
        if (err instanceof PeerNotAuthorizedError) {
          options.onRefusal?.(p, err);
          return { accept: false, reason: `not-authorized: ${err.message}` };
        }
        return { accept: false, reason: 'the peer could not be verified' };
      }
    };
  }

  /**
   * The proposer's side of the gate: verifies the peer on `connectionId`, then proposes the channel
   * to its DID with the verified address as the peer's participant address.
   */
  public async proposeToVerifiedPeer(
    agentContext: AgentContext,
    client: ChannelClient,
    connectionId: string,
    policy: PeerPolicy,
    request: Omit<ProposeRequest, 'peer' | 'peerAddress'>,
    options: VerifyOptions = {},
  ): Promise<{ channel: ChannelInfo; peer: VerifiedPeer }> {
    const peer = await this.peers.verify(agentContext, connectionId, policy, options);
    try {
      const channel = await client.proposeChannel({ ...request, peer: peer.did, peerAddress: peer.address });
      return { channel, peer };
    } catch (err) {
      // The peer may have changed its address since it was verified: verify it again next time.
      if (err instanceof ChannelClientError && err.code === 'PROPOSAL_REJECTED')
        await this.peers.forget(agentContext, connectionId, (options.now ?? Date.now)());
      throw err;
    }
  }
}
