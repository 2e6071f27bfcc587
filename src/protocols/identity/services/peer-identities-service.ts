// Who the peer on each connection is: the identity DID its credential names and its presentation
// was signed by (verified by ./peer-verifier-service.ts), bound to the connection when a
// verification succeeds and kept as a tag of the connection record (PEER_IDENTITY_TAG), so that
// it survives a restart. Connections use fresh pairwise DIDs; the identity DID is what channels
// name their peer by. As the Perun wire's peer directory (../../perun/peer-directory.ts):
//   - what arrives on a bound connection comes from its identity DID; on an unbound one, a
//     channel proposal waits until the gate (./proposal-gate-service.ts registers its policy
//     here) has verified the peer on that connection, other messages come from the connection's
//     DID (no channel names that: the core refuses them);
//   - a message to an identity DID goes out on the connection its last message came on (or we
//     proposed a channel on), if bound to it, else on the newest ready connection bound to it,
//     never on a connection that only claimed it; an ID no connection is bound to is a
//     connection's DID (the connection the failed proposal came on, or the default's lookup);
//   - our ID for every peer is our identity DID (useIdentityDid), where the agent has one.
// The verification a resolved proposal triggered is handed to the gate once, by proposal ID, so
// the gate does not ask the peer twice.
import {
  EventEmitter,
  RepositoryEventTypes,
  injectable,
  type AgentContext,
  type RecordDeletedEvent,
  type RecordSavedEvent,
  type RecordUpdatedEvent,
} from '@credo-ts/core';
import { DidCommConnectionRecord, DidCommConnectionRepository } from '@credo-ts/didcomm';
import {
  ConnectionDidDirectory,
  type PeerConnection,
  type PeerDirectory,
} from '../../perun/peer-directory.js';
import { PeerNotAuthorizedError } from '../errors.js';
import type { PeerPolicy, VerifiedPeer } from '../policy.js';
import type { VerifyOptions } from './peer-verifier-service.js';

/** The connection record tag that holds the peer's verified identity DID. */
export const PEER_IDENTITY_TAG = 'perunPeerDid';

/** Verifications handed from a resolved proposal to the gate, at most this many waiting. */
const HANDOFFS_KEPT = 256;

/** What verifying the peer on a connection decided. */
export type PeerVerdict = { peer: VerifiedPeer } | { err: PeerNotAuthorizedError };

/** How the gate verifies a proposer: what `resolve` runs for a proposal on an unbound connection. */
export type ProposerCheck = (
  agentContext: AgentContext,
  connection: DidCommConnectionRecord,
  policy: PeerPolicy,
  options: VerifyOptions | undefined,
) => Promise<PeerVerdict>;

const identityOf = (c: DidCommConnectionRecord): string | undefined => {
  const tag = c.getTag(PEER_IDENTITY_TAG);
  return typeof tag === 'string' && tag !== '' ? tag : undefined;
};

@injectable()
export class PeerIdentitiesService implements PeerDirectory {
  /** Our identity DID: our ID for every peer. */
  #ourDid: string | undefined;
  /** Connection records, by ID (kept current from the repository's events). */
  readonly #records = new Map<string, DidCommConnectionRecord>();
  /** Identity DID → IDs of the connections bound to it. */
  readonly #byIdentity = new Map<string, Set<string>>();
  /** Peer ID → the connection its last message came on. */
  readonly #lastOn = new Map<string, string>();
  readonly #handoffs = new Map<string, PeerVerdict>();
  #gate: { policy: PeerPolicy; options?: VerifyOptions; check: ProposerCheck } | undefined;
  readonly #fallback = new ConnectionDidDirectory();
  #unsubscribe: (() => void) | undefined;

  public constructor(private readonly events: EventEmitter) {}

  /** Reads the connections and follows their changes (the identity module, on initialize). */
  public async load(agentContext: AgentContext): Promise<void> {
    const onRecord = (e: RecordSavedEvent<never> | RecordUpdatedEvent<never> | RecordDeletedEvent<never>) => {
      const record = e.payload.record as { id: string; type: string };
      if (record.type !== DidCommConnectionRecord.type) return;
      if (e.type === RepositoryEventTypes.RecordDeleted) this.#drop(record.id);
      else if (record instanceof DidCommConnectionRecord) this.#note(record);
    };
    for (const type of [
      RepositoryEventTypes.RecordSaved,
      RepositoryEventTypes.RecordUpdated,
      RepositoryEventTypes.RecordDeleted,
    ])
      this.events.on(type, onRecord);
    this.#unsubscribe = () => {
      this.events.off(RepositoryEventTypes.RecordSaved, onRecord);
      this.events.off(RepositoryEventTypes.RecordUpdated, onRecord);
      this.events.off(RepositoryEventTypes.RecordDeleted, onRecord);
    };
    const all = await agentContext.resolve(DidCommConnectionRepository).getAll(agentContext);
    for (const c of all) if (!this.#records.has(c.id)) this.#note(c);
  }

  public stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  public useIdentityDid(did: string): void {
    this.#ourDid = did;
  }

  public get ourDid(): string | undefined {
    return this.#ourDid;
  }

  /** Proposals on unbound connections are verified with `policy` from now on (the gate's). */
  public useGate(policy: PeerPolicy, options: VerifyOptions | undefined, check: ProposerCheck): void {
    this.#gate = { policy, options, check };
  }

  /** The verified identity DID of the peer on `connectionId`, if one is bound. */
  public identityOf(connectionId: string): string | undefined {
    const c = this.#records.get(connectionId);
    return c === undefined ? undefined : identityOf(c);
  }

  /** The connections bound to `identityDid`, oldest first. */
  public connectionsOf(identityDid: string): DidCommConnectionRecord[] {
    return [...(this.#byIdentity.get(identityDid) ?? [])]
      .map((id) => this.#records.get(id)!)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /** Binds `identityDid` to the connection `connectionId` (a verification succeeded); persisted. */
  public async bind(agentContext: AgentContext, connectionId: string, identityDid: string): Promise<void> {
    const repository = agentContext.resolve(DidCommConnectionRepository);
    const record = await repository.getById(agentContext, connectionId);
    if (identityOf(record) === identityDid) return this.#note(record);
    record.setTag(PEER_IDENTITY_TAG, identityDid);
    await repository.update(agentContext, record);
    this.#note(record);
  }

  /** Messages to `peerId` go out on `connectionId` (bound to it) until another message comes in. */
  public prefer(peerId: string, connectionId: string): void {
    this.#arrived(peerId, connectionId);
  }

  /** The connection the last message from `peerId` came on. */
  public arrivedOn(peerId: string): string | undefined {
    return this.#lastOn.get(peerId);
  }

  /** The verification resolving the proposal `proposalId` made, once. */
  public takeVerdict(proposalId: string): PeerVerdict | undefined {
    const verdict = this.#handoffs.get(proposalId.toLowerCase());
    this.#handoffs.delete(proposalId.toLowerCase());
    return verdict;
  }

  public peerOf(connection: PeerConnection): string | undefined {
    const record = this.#records.get(connection.id);
    const bound = record === undefined ? undefined : identityOf(record);
    const peer = bound ?? (this.#gate === undefined ? connection.theirDid : undefined);
    if (peer !== undefined) this.#lastOn.set(peer, connection.id);
    return peer;
  }

  public async resolve(
    agentContext: AgentContext,
    connection: DidCommConnectionRecord,
    proposalId: string,
    claim: string | undefined,
  ): Promise<string> {
    const gate = this.#gate;
    const fallback = claim ?? connection.theirDid!;
    if (gate === undefined) return this.#arrived(connection.theirDid!, connection.id);
    let verdict: PeerVerdict;
    try {
      verdict = await gate.check(agentContext, connection, gate.policy, gate.options);
    } catch {
      return this.#arrived(fallback, connection.id);
    }
    this.#handoffs.set(proposalId.toLowerCase(), verdict);
    if (this.#handoffs.size > HANDOFFS_KEPT) this.#handoffs.delete(this.#handoffs.keys().next().value!);
    return this.#arrived('peer' in verdict ? verdict.peer.did : fallback, connection.id);
  }

  public async connectionFor(
    agentContext: AgentContext,
    peerId: string,
  ): Promise<DidCommConnectionRecord | undefined> {
    const all = this.connectionsOf(peerId);
    const bound = all.filter((c) => c.isReady);
    if (bound.length > 0) {
      const last = this.#lastOn.get(peerId);
      return bound.find((c) => c.id === last) ?? bound[bound.length - 1];
    }
    // An unbound connection only ever claimed the ID: it stands in only for a peer bound nowhere.
    const last = this.#records.get(this.#lastOn.get(peerId) ?? '');
    if (all.length === 0 && last !== undefined && last.isReady && identityOf(last) === undefined) return last;
    return this.#fallback.connectionFor(agentContext, peerId);
  }

  public ourIdFor(_: string, connection: DidCommConnectionRecord): string {
    return this.#ourDid ?? connection.did!;
  }

  public forget(connectionId: string): void {
    this.#fallback.forget(connectionId);
  }

  #arrived(peerId: string, connectionId: string): string {
    this.#lastOn.set(peerId, connectionId);
    return peerId;
  }

  #note(record: DidCommConnectionRecord): void {
    this.#drop(record.id);
    this.#records.set(record.id, record);
    const identity = identityOf(record);
    if (identity === undefined) return;
    let ids = this.#byIdentity.get(identity);
    if (ids === undefined) this.#byIdentity.set(identity, (ids = new Set()));
    ids.add(record.id);
  }

  #drop(connectionId: string): void {
    const old = this.#records.get(connectionId);
    this.#records.delete(connectionId);
    const identity = old === undefined ? undefined : identityOf(old);
    if (identity === undefined) return;
    const ids = this.#byIdentity.get(identity);
    ids?.delete(connectionId);
    if (ids?.size === 0) this.#byIdentity.delete(identity);
  }
}
