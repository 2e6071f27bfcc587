// The record of one verification of a peer by the gate, a Credo record in the agent's storage:
// the connection and both DIDs on it, what the credential said (address, issuer, credential ID),
// when, the outcome (`verified` or the refusal code), and for a success how long new channels on
// the connection may rely on it (`validUntil`), how often they did (`reuses`) and the verified peer
// itself, so that a restarted agent can go on relying on it. ./services/verified-peers-service.ts writes and reads them.
import {
  BaseRecord,
  EventEmitter,
  InjectionSymbols,
  Repository,
  inject,
  injectable,
  utils,
  type StorageService,
} from '@credo-ts/core';
import type { PeerRefusalCode } from './errors.js';
import type { VerifiedPeer } from './policy.js';

export type VerificationOutcome = 'verified' | PeerRefusalCode;

/** A VerifiedPeer as JSON (the spending limit as a decimal string). */
export type StoredPeer = Omit<VerifiedPeer, 'spendingLimit'> & { spendingLimit?: string };

export interface PeerVerificationProps {
  id?: string;
  createdAt?: Date;
  connectionId: string;
  /** The peer's DID on the connection when it was verified. */
  theirDid: string;
  /** Our DID on the connection then (the address proof was bound to both). */
  ourDid: string;
  outcome: VerificationOutcome;
  /** The refusal's message. */
  reason?: string;
  address?: string;
  issuer?: string;
  /** The credential's `id`, or `urn:sha256:` and the SHA-256 of its JSON when it has none. */
  credentialId?: string;
  /** ISO 8601. */
  verifiedAt: string;
  /** ISO 8601; a success only: until when new channels may rely on it. */
  validUntil?: string;
  /** The policy it was checked against (policyFingerprint). */
  policy: string;
  peer?: StoredPeer;
  /** ISO 8601: when reliance on it was ended before validUntil. */
  endedAt?: string;
  /** A success: how many times it served a later channel instead of a new verification. */
  reuses?: number;
  /** ISO 8601: the last of those. */
  lastReusedAt?: string;
}

type Tags = { connectionId: string; theirDid: string; outcome: VerificationOutcome };

export class PeerVerificationRecord extends BaseRecord<Tags> implements PeerVerificationProps {
  public connectionId!: string;
  public theirDid!: string;
  public ourDid!: string;
  public outcome!: VerificationOutcome;
  public reason?: string;
  public address?: string;
  public issuer?: string;
  public credentialId?: string;
  public verifiedAt!: string;
  public validUntil?: string;
  public policy!: string;
  public peer?: StoredPeer;
  public endedAt?: string;
  public reuses?: number;
  public lastReusedAt?: string;

  public static override readonly type = 'PeerVerificationRecord';
  public override readonly type = PeerVerificationRecord.type;

  public constructor(props?: PeerVerificationProps) {
    super();
    if (props !== undefined) {
      const { id, createdAt, ...fields } = props;
      this.id = id ?? utils.uuid();
      this.createdAt = createdAt ?? new Date();
      Object.assign(this, fields);
    }
  }

  public getTags(): Tags {
    return {
      ...this._tags,
      connectionId: this.connectionId,
      theirDid: this.theirDid,
      outcome: this.outcome,
    };
  }

  /** The verified peer of a success. */
  public verifiedPeer(): VerifiedPeer | undefined {
    if (this.peer === undefined) return undefined;
    const { spendingLimit, ...rest } = this.peer;
    return { ...rest, spendingLimit: spendingLimit === undefined ? undefined : BigInt(spendingLimit) };
  }
}

export function storedPeer(peer: VerifiedPeer): StoredPeer {
  const { spendingLimit, ...rest } = peer;
  return { ...rest, ...(spendingLimit === undefined ? {} : { spendingLimit: spendingLimit.toString() }) };
}

@injectable()
export class PeerVerificationRepository extends Repository<PeerVerificationRecord> {
  public constructor(
    @inject(InjectionSymbols.StorageService) storageService: StorageService<PeerVerificationRecord>,
    eventEmitter: EventEmitter,
  ) {
    super(PeerVerificationRecord, storageService, eventEmitter);
  }
}
