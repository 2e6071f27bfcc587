// Who is who on the Perun wire (./didcomm-wire.ts): the peer ID a message arriving on a connection
// comes from, the connection a message to a peer ID goes out on, and our ID as that peer knows
// us. The default here names a peer by its DID on the connection, as a bare Perun module does; the
// identity module replaces it with the peer's verified identity DID, bound through its credential
// (src/protocols/identity/services/peer-identities-service.ts), so that one peer may reach us on
// several connections with a fresh (pairwise) DID on each.
import type { AgentContext } from '@credo-ts/core';
import { DidCommConnectionService, type DidCommConnectionRecord } from '@credo-ts/didcomm';

/** The part of a connection the directory needs to name the sender of what arrives on it. */
export interface PeerConnection {
  readonly id: string;
  readonly theirDid: string;
}

export interface PeerDirectory {
  /**
   * The peer ID of messages on `connection`; undefined when the connection has no peer ID yet and
   * a channel proposal on it must first `resolve` one.
   */
  peerOf(connection: PeerConnection): string | undefined;
  /**
   * Establishes the peer ID of `connection` for the channel proposal `proposalId` that arrived on
   * it (the identity gate verifies the peer); resolves with the ID to deliver it under, `claim`
   * (what the proposal says the proposer is) or the connection's DID when that failed.
   */
  resolve(
    agentContext: AgentContext,
    connection: DidCommConnectionRecord,
    proposalId: string,
    claim: string | undefined,
  ): Promise<string>;
  /** The ready connection a message to `peerId` goes out on, or undefined. */
  connectionFor(agentContext: AgentContext, peerId: string): Promise<DidCommConnectionRecord | undefined>;
  /** Our ID as `peerId` knows us, given the connection we reach it on. */
  ourIdFor(peerId: string, connection: DidCommConnectionRecord): string;
  /** The connection changed or went away: drop what is kept for it. */
  forget?(connectionId: string): void;
}

/** The default directory: a peer is the DID on the other end of a connection. */
export class ConnectionDidDirectory implements PeerDirectory {
  /** Ready connections found, by their DID. */
  readonly #found = new Map<string, DidCommConnectionRecord>();

  peerOf(connection: PeerConnection): string {
    return connection.theirDid;
  }

  resolve(_: AgentContext, connection: DidCommConnectionRecord): Promise<string> {
    return Promise.resolve(connection.theirDid!);
  }

  async connectionFor(
    agentContext: AgentContext,
    peerId: string,
  ): Promise<DidCommConnectionRecord | undefined> {
    const cached = this.#found.get(peerId);
    if (cached !== undefined && cached.isReady) return cached;
    const found = await agentContext.resolve(DidCommConnectionService).findByTheirDid(agentContext, peerId);
    if (found === null || !found.isReady) return undefined;
    this.#found.set(peerId, found);
    return found;
  }

  ourIdFor(_: string, connection: DidCommConnectionRecord): string {
    return connection.did!;
  }

  forget(connectionId: string): void {
    for (const [did, c] of this.#found) if (c.id === connectionId) this.#found.delete(did);
  }
}
