// The identity module's API, `agent.modules.identity`: the holder (identity DID, automatic answers,
// imported credentials), the verifier and the gate in front of the channel client, the peers'
// identity DIDs bound to our connections, and issuers.
// Each call acts in this agent's context; the logic is in ./services.
import type { AddressBackend } from './address-proof.js';
import {
  AgentContext,
  injectable,
  type W3cCredentialRecord,
  type W3cJsonLdVerifiableCredential,
} from '@credo-ts/core';
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import type {
  ChannelClient,
  ChannelInfo,
  Decision,
  IncomingProposal,
  ProposeRequest,
} from '../../channels/client.js';
import type { PeerPolicy, VerifiedPeer } from './policy.js';
import {
  PeerHolderService,
  type PeerHolder,
  type PeerHolderOptions,
} from './services/peer-holder-service.js';
import { PeerIdentitiesService } from './services/peer-identities-service.js';
import { PeerCredentialIssuer, PeerIssuerService } from './services/peer-issuer-service.js';
import type { PeerVerificationRecord } from './peer-verification-record.js';
import { PeerVerifierService, type VerifyOptions } from './services/peer-verifier-service.js';
import { VerifiedPeersService } from './services/verified-peers-service.js';
import {
  ProposalGateService,
  type GateOptions,
  type VerifiedProposalHandler,
} from './services/proposal-gate-service.js';

@injectable()
export class IdentityApi {
  public constructor(
    private readonly agentContext: AgentContext,
    private readonly holder: PeerHolderService,
    private readonly verifier: PeerVerifierService,
    private readonly peers: VerifiedPeersService,
    private readonly gate: ProposalGateService,
    private readonly issuers: PeerIssuerService,
    private readonly identities: PeerIdentitiesService,
  ) {}

  /** A new identity DID (did:peer:2 with our endpoint): the subject of our peer credentials. */
  public createIdentityDid(): Promise<string> {
    return this.holder.createIdentityDid(this.agentContext);
  }

  /**
   * Makes `did` our identity DID: the subject of the credentials we present and accept, named in
   * our address proofs, and our ID on the Perun wire for every peer.
   */
  public useIdentityDid(did: string): void {
    this.identities.useIdentityDid(did);
  }

  /** The verified identity DID of the peer on `connectionId`, if one is bound to it. */
  public peerIdentityOf(connectionId: string): string | undefined {
    return this.identities.identityOf(connectionId);
  }

  /** Our connections bound to the peer identity `did`, oldest first. */
  public connectionsOfPeer(did: string): DidCommConnectionRecord[] {
    return this.identities.connectionsOf(did);
  }

  /**
   * Binds the peer identity `did` to `connectionId` without a verification: for connections an
   * earlier version verified with the identity DID as the connection's DID (a data migration).
   */
  public bindPeerIdentity(connectionId: string, did: string): Promise<void> {
    return this.identities.bind(this.agentContext, connectionId, did);
  }

  /** Rotates our DID on `connectionId` to `did` and waits for the peer's acknowledgement. */
  public adoptIdentityDid(
    connectionId: string,
    did: string,
    timeoutMs?: number,
  ): Promise<DidCommConnectionRecord> {
    return this.holder.adoptIdentityDid(this.agentContext, connectionId, did, timeoutMs);
  }

  /** Answers peer-credential offers and presentation requests automatically, until stop(). */
  public enablePeerHolder(options: PeerHolderOptions = {}): PeerHolder {
    const identityDid = options.identityDid ?? this.identities.ourDid;
    return this.holder.enable(this.agentContext, {
      ...options,
      ...(identityDid === undefined ? {} : { identityDid }),
    });
  }

  /** Stores a signed peer credential obtained outside issue-credential. */
  public storePeerCredential(vc: W3cJsonLdVerifiableCredential): Promise<W3cCredentialRecord> {
    return this.holder.storePeerCredential(this.agentContext, vc);
  }

  /**
   * The peer on `connectionId`, verified against `policy` (or, within `options.reverifyAfterMs`,
   * an earlier verification that still holds); recorded. Throws PeerNotAuthorizedError.
   */
  public verifyPeer(
    connectionId: string,
    policy: PeerPolicy,
    options?: VerifyOptions,
  ): Promise<VerifiedPeer> {
    return this.peers.verify(this.agentContext, connectionId, policy, options);
  }

  /** Ends reliance on the last verification of the peer on `connectionId`: the next check asks again. */
  public forgetVerifiedPeer(connectionId: string): Promise<void> {
    return this.peers.forget(this.agentContext, connectionId);
  }

  /** The recorded verifications of the peer on `connectionId`, newest first. */
  public peerVerifications(connectionId: string): Promise<PeerVerificationRecord[]> {
    return this.peers.history(this.agentContext, connectionId);
  }

  /** The address the peer on `connectionId` proves control of. */
  public provenAddress(connectionId: string, options?: VerifyOptions): Promise<string> {
    return this.verifier.provenAddress(this.agentContext, connectionId, options);
  }

  /** The address the peer on `connectionId` proves control of, and the identity DID it names there. */
  public provenHolder(
    connectionId: string,
    options?: VerifyOptions,
  ): Promise<{ address: string; identityDid?: string; backend?: AddressBackend }> {
    return this.verifier.provenHolder(this.agentContext, connectionId, options);
  }

  /** An `onProposal` for ChannelClient that admits only verified peers at their verified address. */
  public gatedProposalHandler(
    policy: PeerPolicy,
    inner?: VerifiedProposalHandler,
    options?: GateOptions,
  ): (p: IncomingProposal) => Promise<Decision> {
    return this.gate.gatedProposalHandler(this.agentContext, policy, inner, options);
  }

  /**
   * Verifies the peer on a connection (its ID, or its record as the caller just read it), then
   * proposes the channel to it at its verified address.
   */
  public proposeToVerifiedPeer(
    client: ChannelClient,
    connection: string | DidCommConnectionRecord,
    policy: PeerPolicy,
    request: Omit<ProposeRequest, 'peer' | 'peerAddress'>,
    options?: VerifyOptions,
  ): Promise<{ channel: ChannelInfo; peer: VerifiedPeer }> {
    return this.gate.proposeToVerifiedPeer(this.agentContext, client, connection, policy, request, options);
  }

  /** An issuer with a new did:key, or with an existing did:key of this agent. */
  public async createIssuer(did?: string): Promise<PeerCredentialIssuer> {
    const key = await this.issuers.issuerKey(this.agentContext, did);
    return new PeerCredentialIssuer(this.agentContext, this.issuers, key.did, key.verificationMethod);
  }
}
