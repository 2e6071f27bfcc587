// The lean path's connections: for each completed DIDComm connection, what packing and opening
// its messages needs, resolved once through Credo (our DID's sending key and its KMS key ID as
// Credo's message sender picks it, the peer's DID services and their recipient keys) and the KMS
// (the crypto_box key of our key and each of theirs, our verkey sealed for each of theirs). An
// inbound envelope is matched by the pair (recipient key, sender key), as Credo matches a
// connection; a pair on two connections is served by neither. A connection record that is
// updated (state, DID rotation, keys) or deleted, and any change of a DID record, drops what was
// cached: the next message goes through Credo, which also warms the entry again.
import {
  DidRecord,
  DidsApi,
  EventEmitter,
  Kms,
  RepositoryEventTypes,
  TypedArrayEncoder,
  getPublicJwkFromVerificationMethod,
  type AgentContext,
  type RecordDeletedEvent,
  type RecordUpdatedEvent,
} from '@credo-ts/core';
import { DidCommConnectionRecord, DidCommDidExchangeState, DidCommDocumentService } from '@credo-ts/didcomm';
import type { RecipientSeal } from './envelope.js';

/** What the lean path needs of the agent's KMS beyond Credo's KMS API. */
export interface LeanKeyAgreement {
  /** crypto_box_beforenm of our key `keyId` (an Ed25519 key as X25519) and their X25519 public key. */
  boxKey(keyId: string, theirX25519: Uint8Array): Promise<Uint8Array>;
}

export type LeanScheme = 'http' | 'ws';

/** One connection as the lean path packs and opens its messages. */
export interface LeanPeer {
  readonly connectionId: string;
  readonly ourDid: string;
  readonly theirDid: string;
  /** Our verkey on the connection (base58) and its KMS key ID. */
  readonly ourKid: string;
  readonly ourKeyId: string;
  /** Their verkeys (base58, every DIDComm service of their DID) → box key with ours. */
  readonly boxKeys: ReadonlyMap<string, Uint8Array>;
  /** The recipients of what we send, of the service we send to. */
  readonly recipients: readonly RecipientSeal[];
  readonly endpoint: string;
  readonly scheme: LeanScheme;
}

const SENDERS_KEPT = 1024;

const schemeOf = (endpoint: string): LeanScheme | undefined => {
  const s = endpoint.slice(0, endpoint.indexOf(':')).toLowerCase();
  return s === 'http' || s === 'https' ? 'http' : s === 'ws' || s === 'wss' ? 'ws' : undefined;
};
const b58 = (raw: Uint8Array): string => TypedArrayEncoder.toBase58(raw);
const pairKey = (ourKid: string, theirKid: string) => `${ourKid} ${theirKid}`;

export class LeanPeers {
  /** null: the connection cannot take the lean path (no usable service, routing keys). */
  readonly #byConnection = new Map<string, LeanPeer | null>();
  readonly #byTheirDid = new Map<string, LeanPeer | null>();
  /** (our kid, their kid) → peer; null where two connections share the pair. */
  readonly #byKeys = new Map<string, LeanPeer | null>();
  readonly #pending = new Map<string, Promise<LeanPeer | undefined>>();
  /** Our verkeys of cached connections (base58) → KMS key ID. */
  readonly #ourKeys = new Map<string, string>();
  /** Sealed sender (base64url) → the verkey it opens to, base58. */
  readonly #senders = new Map<string, string>();
  #epoch = 0;
  #agentContext: AgentContext | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(
    private readonly keys: LeanKeyAgreement,
    private readonly onForget: (connectionId: string) => void,
  ) {}

  attach(agentContext: AgentContext): void {
    this.#agentContext = agentContext;
    const events = agentContext.resolve(EventEmitter);
    const onRecord = (e: RecordUpdatedEvent<never> | RecordDeletedEvent<never>) => {
      const record = e.payload.record as { id: string; type: string };
      if (record.type === DidCommConnectionRecord.type) this.forget(record.id);
      else if (record.type === DidRecord.type) this.clear();
    };
    events.on(RepositoryEventTypes.RecordUpdated, onRecord);
    events.on(RepositoryEventTypes.RecordDeleted, onRecord);
    this.#unsubscribe = () => {
      events.off(RepositoryEventTypes.RecordUpdated, onRecord);
      events.off(RepositoryEventTypes.RecordDeleted, onRecord);
    };
  }

  detach(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.clear();
    this.#agentContext = undefined;
  }

  /** The cached peer on the connection with `theirDid`, if there is one. */
  byTheirDid(theirDid: string): LeanPeer | undefined {
    return this.#byTheirDid.get(theirDid) ?? undefined;
  }

  /** The peer whose connection pairs our key `ourKid` with their key `theirKid`. */
  byKeys(ourKid: string, theirKid: string): LeanPeer | undefined {
    return this.#byKeys.get(pairKey(ourKid, theirKid)) ?? undefined;
  }

  /** The KMS key ID of our verkey `kid` if some cached connection uses it. */
  ourKeyId(kid: string): string | undefined {
    return this.#ourKeys.get(kid);
  }

  /**
   * The peer of `connection`, resolved once and cached; undefined where the connection is not
   * completed or cannot take the lean path.
   */
  async of(connection: DidCommConnectionRecord): Promise<LeanPeer | undefined> {
    const cached = this.#byConnection.get(connection.id);
    if (cached !== undefined) return cached ?? undefined;
    const pending = this.#pending.get(connection.id);
    if (pending !== undefined) return pending;
    const epoch = this.#epoch;
    const resolving = this.#resolve(connection)
      .then((peer) => {
        if (epoch === this.#epoch) this.#add(connection.id, peer);
        return peer;
      })
      .finally(() => this.#pending.delete(connection.id));
    this.#pending.set(connection.id, resolving);
    return resolving;
  }

  /** Whether the peer of a connection is known, known not to take the lean path, or not resolved. */
  known(connectionId: string): boolean {
    return this.#byConnection.has(connectionId);
  }

  /** The verkey (base58) a sealed `sender` field opens to with our key `keyId`; cached by its bytes. */
  async senderOf(keyId: string, sealed: string): Promise<string | undefined> {
    const known = this.#senders.get(sealed);
    if (known !== undefined) return known;
    const agentContext = this.#agentContext;
    if (agentContext === undefined) return undefined;
    let verkey: string;
    try {
      const { data } = await agentContext.resolve(Kms.KeyManagementApi).decrypt({
        key: { keyAgreement: { algorithm: 'ECDH-HSALSA20', keyId } },
        decryption: { algorithm: 'XSALSA20-POLY1305' },
        encrypted: TypedArrayEncoder.fromBase64(sealed),
      });
      verkey = TypedArrayEncoder.toUtf8String(data);
    } catch {
      return undefined;
    }
    if (this.#senders.size >= SENDERS_KEPT) this.#senders.delete(this.#senders.keys().next().value!);
    this.#senders.set(sealed, verkey);
    return verkey;
  }

  /** Drops what is cached for the connection; anything resolving for it is not kept. */
  forget(connectionId: string): void {
    this.#epoch++;
    const peer = this.#byConnection.get(connectionId);
    this.#byConnection.delete(connectionId);
    if (peer) {
      if (this.#byTheirDid.get(peer.theirDid) === peer) this.#byTheirDid.delete(peer.theirDid);
      for (const kid of peer.boxKeys.keys()) {
        const key = pairKey(peer.ourKid, kid);
        if (this.#byKeys.get(key) === peer) this.#byKeys.delete(key);
      }
    }
    this.onForget(connectionId);
  }

  clear(): void {
    this.#epoch++;
    const ids = [...this.#byConnection.keys()];
    this.#byConnection.clear();
    this.#byTheirDid.clear();
    this.#byKeys.clear();
    this.#ourKeys.clear();
    for (const id of ids) this.onForget(id);
  }

  #add(connectionId: string, peer: LeanPeer | undefined): void {
    this.#byConnection.set(connectionId, peer ?? null);
    if (peer === undefined) return;
    this.#ourKeys.set(peer.ourKid, peer.ourKeyId);
    // A DID or a key pair on two connections is ambiguous: neither is served.
    this.#byTheirDid.set(peer.theirDid, this.#byTheirDid.has(peer.theirDid) ? null : peer);
    for (const kid of peer.boxKeys.keys()) {
      const key = pairKey(peer.ourKid, kid);
      this.#byKeys.set(key, this.#byKeys.has(key) ? null : peer);
    }
  }

  async #resolve(connection: DidCommConnectionRecord): Promise<LeanPeer | undefined> {
    const agentContext = this.#agentContext;
    const { did: ourDid, theirDid } = connection;
    if (
      agentContext === undefined ||
      connection.state !== DidCommDidExchangeState.Completed ||
      ourDid === undefined ||
      theirDid === undefined
    )
      return undefined;
    const ours = await this.#ourKey(agentContext, ourDid);
    if (ours === undefined) return undefined;
    const services = await agentContext
      .resolve(DidCommDocumentService)
      .resolveServicesFromDid(agentContext, theirDid);
    const boxKeys = new Map<string, Uint8Array>();
    const seals = new Map<string, RecipientSeal>();
    for (const s of services) {
      for (const jwk of s.recipientKeys) {
        const kid = b58(jwk.publicKey.publicKey);
        if (boxKeys.has(kid)) continue;
        const x25519 = jwk.convertTo(Kms.X25519PublicJwk);
        boxKeys.set(kid, await this.keys.boxKey(ours.keyId, x25519.publicKey.publicKey));
        seals.set(kid, {
          kid,
          boxKey: boxKeys.get(kid)!,
          sealedSender: await this.#seal(agentContext, ours.kid, x25519),
        });
      }
    }
    // WebSocket where both DID documents offer it, else HTTP. A service with routing keys (a
    // mediated peer) is not taken: Credo's pipeline wraps what goes there in forwards for the
    // mediator, whose queue and pickup cost more than the lean path would save (docs/agent.md).
    const usable = services.filter(
      (s) => s.routingKeys.length === 0 && schemeOf(s.serviceEndpoint) !== undefined,
    );
    const want: LeanScheme =
      ours.ws && usable.some((s) => schemeOf(s.serviceEndpoint) === 'ws') ? 'ws' : 'http';
    const service = usable.find((s) => schemeOf(s.serviceEndpoint) === want);
    if (service === undefined || service.recipientKeys.length === 0) return undefined;
    return {
      connectionId: connection.id,
      ourDid,
      theirDid,
      ourKid: ours.kid,
      ourKeyId: ours.keyId,
      boxKeys,
      recipients: service.recipientKeys.map((jwk) => seals.get(b58(jwk.publicKey.publicKey))!),
      endpoint: service.serviceEndpoint,
      scheme: want,
    };
  }

  /** Our sending key on `ourDid`, picked as Credo's message sender picks it, and whether our DID offers WebSocket. */
  async #ourKey(
    agentContext: AgentContext,
    ourDid: string,
  ): Promise<{ kid: string; keyId: string; ws: boolean } | undefined> {
    const { didDocument, keys } = await agentContext
      .resolve(DidsApi)
      .resolveCreatedDidDocumentWithKeys(ourDid);
    const candidates = (didDocument.authentication ?? []).map((a) => {
      const vm = typeof a === 'string' ? didDocument.dereferenceVerificationMethod(a) : a;
      const jwk = getPublicJwkFromVerificationMethod(vm);
      const kmsKeyId = keys?.find((k) => vm.id.endsWith(k.didDocumentRelativeKeyId))?.kmsKeyId;
      return { jwk, kmsKeyId };
    });
    const ed25519 = candidates.filter((c) => c.jwk.is(Kms.Ed25519PublicJwk));
    const chosen = ed25519.find((c) => c.kmsKeyId !== undefined) ?? ed25519[0];
    if (chosen === undefined) return undefined;
    const ws = didDocument.didCommServices.some((s) => schemeOf(String(s.serviceEndpoint)) === 'ws');
    return {
      kid: b58((chosen.jwk.publicKey as { publicKey: Uint8Array }).publicKey),
      keyId: chosen.kmsKeyId ?? chosen.jwk.legacyKeyId,
      ws,
    };
  }

  /** Our verkey sealed for `recipient` (crypto_box_seal, as Credo writes `sender`), once per key. */
  async #seal(agentContext: AgentContext, ourKid: string, recipient: Kms.PublicJwk<Kms.X25519PublicJwk>) {
    const { encrypted } = await agentContext.resolve(Kms.KeyManagementApi).encrypt({
      key: { keyAgreement: { algorithm: 'ECDH-HSALSA20', externalPublicJwk: recipient.toJson() } },
      encryption: { algorithm: 'XSALSA20-POLY1305' },
      data: TypedArrayEncoder.fromString(ourKid),
    });
    return TypedArrayEncoder.toBase64URL(encrypted);
  }
}
