// The gate in front of the channel client, both ways: a proposal is accepted only from a verified
// peer whose proposal names the verified address as its participant; we propose only to a
// verified peer, at its verified address. Both ways rely on an earlier verification of the peer on
// the connection while ./verified-peers-service.ts allows; a proposal the peer rejects ends that,
// and so does (recorded as a refusal) a proposal naming another address than the verified one.
// The peer is verified on the connection its proposal came on, and must be the peer the proposal
// comes from: the identity DID bound to that connection (./peer-identities-service.ts). A
// proposal on a connection with no identity yet was verified before the core saw it (the wire
// waits for the peer directory); that verification is taken here, not made again.
import { injectable, type AgentContext } from '@credo-ts/core';
import { DidCommConnectionService, type DidCommConnectionRecord } from '@credo-ts/didcomm';
import { isVerifiedAddress } from '../address-proof.js';
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
import { PeerIdentitiesService, type PeerVerdict } from './peer-identities-service.js';
import { VerifiedPeersService } from './verified-peers-service.js';

export interface GateOptions {
  /** Called with every refusal (for logs and metrics). */
  onRefusal?: (proposal: IncomingProposal, error: PeerNotAuthorizedError) => void;
  verify?: VerifyOptions;
}

/** What the gate hands an accepted proposal to, with the verified peer and the connection it came on. */
export type VerifiedProposalHandler = (
  p: IncomingProposal,
  peer: VerifiedPeer,
  connection: DidCommConnectionRecord,
) => Decision | Promise<Decision>;

@injectable()
export class ProposalGateService {
  public constructor(
    private readonly connections: DidCommConnectionService,
    private readonly peers: VerifiedPeersService,
    private readonly identities: PeerIdentitiesService,
  ) {}

  /**
   * An `onProposal` for ChannelClient: verifies the proposing peer (on the connection its proposal
   * came on) and accepts only if it is the peer the proposal comes from, the proposal's
   * participant 0 is the verified address and `inner` (if given) accepts. Any failure is a
   * refusal; the client then stores nothing. Registers `policy` with the peer directory for
   * proposals on connections with no verified peer yet.
   */
  public gatedProposalHandler(
    agentContext: AgentContext,
    policy: PeerPolicy,
    inner?: VerifiedProposalHandler,
    options: GateOptions = {},
  ): (p: IncomingProposal) => Promise<Decision> {
    this.identities.useGate(policy, options.verify, (ctx, connection, pol, opts) =>
      this.peers.verify(ctx, connection.id, pol, opts).then(
        (peer): PeerVerdict => ({ peer }),
        (err: unknown): PeerVerdict => {
          if (err instanceof PeerNotAuthorizedError) return { err };
          throw err;
        },
      ),
    );
    return async (p) => {
      try {
        const proposer = p.participants[p.proposerIdx ?? 0];
        const verdict = this.identities.takeVerdict(p.proposalID);
        if (verdict !== undefined && 'err' in verdict) throw verdict.err;
        const connectionId = verdict?.peer.connectionId ?? this.identities.arrivedOn(p.peer);
        const connection =
          connectionId === undefined ? null : await this.connections.findById(agentContext, connectionId);
        if (connection === null || !connection.isReady)
          return refuse('no-connection', 'no established connection with the proposer', { peer: p.peer });
        const peer =
          verdict?.peer ??
          (await this.peers.verify(agentContext, connection, policy, options.verify, {
            address: proposer,
          }));
        if (peer.did !== p.peer)
          refuse('subject-mismatch', 'the proposal comes from another peer than the credential’s subject', {
            peer: p.peer,
            subject: peer.did,
          });
        if (!isVerifiedAddress(peer.address, proposer)) {
          const err = new PeerNotAuthorizedError(
            'address-mismatch',
            'the proposal’s participant is not the verified address',
            { proposed: proposer, verified: peer.address },
          );
          await this.peers.recordRefusal(agentContext, connection, policy, err, options.verify);
          throw err;
        }
        return inner === undefined ? { accept: true } : await inner(p, peer, connection);
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
   * The proposer's side of the gate: verifies the peer on connection `on` (its ID, or its record
   * as the caller just read it), then proposes the channel to its DID with the verified address as
   * the peer's participant address.
   */
  public async proposeToVerifiedPeer(
    agentContext: AgentContext,
    client: ChannelClient,
    on: string | DidCommConnectionRecord,
    policy: PeerPolicy,
    request: Omit<ProposeRequest, 'peer' | 'peerAddress'>,
    options: VerifyOptions = {},
  ): Promise<{ channel: ChannelInfo; peer: VerifiedPeer }> {
    const connectionId = typeof on === 'string' ? on : on.id;
    const peer = await this.peers.verify(agentContext, on, policy, options);
    this.identities.prefer(peer.did, connectionId);
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
