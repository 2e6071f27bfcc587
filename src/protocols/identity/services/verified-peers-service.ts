// The verifications the gate relies on. A peer verified on a connection (presentation and address
// proof, ./peer-verifier-service.ts) stays verified for new channels on that connection while
//   - the newest verification on the connection is that success, and nothing ended it (forget),
//   - the clock is within `reverifyAfterMs` of it and before the credential's expirationDate,
//   - both DIDs on the connection are still the ones it was made with,
//   - the policy is the one it was checked against (policyFingerprint: trusted issuers, type,
//     required claims, address proof), and
//   - the address the caller expects (the proposer's participant) is the verified one.
// Otherwise the peer is verified again. Every decision is recorded (../peer-verification-record.ts)
// and told to `VerifyOptions.onDecision`: a verification, success or refusal, as a new record; a
// reliance on the success as its `reuses` count (written behind: one write per REUSE_WRITE_MS
// at most, so a burst of openings costs one write, not one each); a refusal
// by the gate after the verification (recordRefusal) as a refusal record. A refusal is never
// relied on, and as the newest record of its connection it ends reliance on the success before
// it. The newest record per connection is also kept in memory, read from storage once per
// connection (so after a restart a still-valid verification serves on). Concurrent callers on one
// connection share one verification in flight. A success binds the peer's identity DID to the
// connection (./peer-identities-service.ts).
import { createHash } from 'node:crypto';
import { injectable, type AgentContext } from '@credo-ts/core';
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import { isVerifiedAddress } from '../address-proof.js';
import { PeerNotAuthorizedError } from '../errors.js';
import {
  PeerVerificationRecord,
  PeerVerificationRepository,
  storedPeer,
} from '../peer-verification-record.js';
import { policyFingerprint, type PeerPolicy, type VerifiedPeer } from '../policy.js';
import { PeerIdentitiesService } from './peer-identities-service.js';
import {
  PeerVerifierService,
  readyConnection,
  readyRecord,
  type PeerDecision,
  type VerifyOptions,
} from './peer-verifier-service.js';

/** How long a reliance waits before its count is written, gathering the reliances after it. */
export const REUSE_WRITE_MS = 500;

/** Records kept per connection, newest first; older ones are deleted. */
export const VERIFICATIONS_KEPT = 20;

/** What the caller expects of the peer besides the policy. */
export interface PeerExpectation {
  /** The address the peer's proposal names: a verification of another address is not relied on. */
  address?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Until when a verification at `verifiedAt` may be relied on: the interval, capped by the credential's expiry. */
function reliableUntil(verifiedAt: number, reuseMs: number, expirationDate: string | undefined): number {
  const expires = expirationDate === undefined ? Infinity : Date.parse(expirationDate);
  return Math.min(verifiedAt + reuseMs, Number.isNaN(expires) ? verifiedAt : expires);
}

/** The credential's `id`, or the SHA-256 of its JSON. */
function credentialIdOf(vc: Record<string, unknown>): string {
  if (typeof vc.id === 'string') return vc.id;
  return `urn:sha256:${createHash('sha256').update(JSON.stringify(vc)).digest('hex')}`;
}

interface Circumstances {
  connection: DidCommConnectionRecord;
  fingerprint: string;
  now: number;
  reuseMs: number;
  address?: string;
}

/** What a verification decided, for every caller that waited on it. */
type Outcome =
  { peer: VerifiedPeer; decision: PeerDecision } | { err: PeerNotAuthorizedError; decision: PeerDecision };

/** The decision `r` records. */
function decisionOf(r: PeerVerificationRecord, decision: PeerDecision['decision']): PeerDecision {
  return {
    connectionId: r.connectionId,
    theirDid: r.theirDid,
    decision,
    ...(r.outcome === 'verified' ? {} : { code: r.outcome, reason: r.reason ?? '' }),
    ...(r.address === undefined ? {} : { address: r.address }),
    verifiedAt: r.verifiedAt,
    ...(r.validUntil === undefined ? {} : { validUntil: r.validUntil }),
    recordId: r.id,
  };
}

/** Whether `r`, the newest verification on its connection, may serve under `c`. */
function reliable(r: PeerVerificationRecord, c: Circumstances): boolean {
  if (r.outcome !== 'verified' || r.endedAt !== undefined || r.peer === undefined) return false;
  if (r.theirDid !== c.connection.theirDid || r.ourDid !== c.connection.did) return false;
  if (r.policy !== c.fingerprint) return false;
  if (c.address !== undefined && (r.address === undefined || !isVerifiedAddress(r.address, c.address)))
    return false;
  const at = Date.parse(r.verifiedAt);
  if (!(c.now >= at && c.now < reliableUntil(at, c.reuseMs, r.peer.expirationDate))) return false;
  return true;
}

@injectable()
export class VerifiedPeersService {
  /** Agent context → connection ID → its newest record, or null for none. */
  readonly #newest = new Map<string, Map<string, PeerVerificationRecord | null>>();
  readonly #inFlight = new Map<string, Promise<Outcome>>();
  /** Records whose reuse count is being written, and those to write again once that is done. */
  readonly #writing = new Set<PeerVerificationRecord>();
  readonly #dirty = new Set<PeerVerificationRecord>();
  /** The last creation time given out, ms: records of this process are ordered even within a millisecond. */
  #lastStamp = 0;

  public constructor(
    private readonly verifier: PeerVerifierService,
    private readonly records: PeerVerificationRepository,
    /** Where successes bind the peer's identity DID; without it, nothing is bound. */
    private readonly identities?: PeerIdentitiesService,
  ) {}

  /**
   * The peer on connection `on` (its ID, or its record as the caller just read it), verified
   * against `policy`: a verification that may still be relied on (see the header) when
   * `options.reverifyAfterMs` allows, else a new one; the decision is recorded. Throws
   * PeerNotAuthorizedError.
   */
  public async verify(
    agentContext: AgentContext,
    on: string | DidCommConnectionRecord,
    policy: PeerPolicy,
    options: VerifyOptions = {},
    expect: PeerExpectation = {},
  ): Promise<VerifiedPeer> {
    const connection =
      typeof on === 'string' ? await readyConnection(agentContext, on) : readyRecord(on, on.id);
    const connectionId = connection.id;
    const fingerprint = policyFingerprint(policy);
    const reuseMs = options.reverifyAfterMs ?? 0;
    let running: Promise<Outcome> | undefined;
    if (!(reuseMs > 0)) running = this.#verify(agentContext, connection, policy, fingerprint, options);
    else {
      const newest = await this.#newestOf(agentContext, connectionId);
      const now = (options.now ?? Date.now)();
      if (newest !== null && reliable(newest, { connection, fingerprint, now, reuseMs, ...expect })) {
        this.#reused(agentContext, newest, now);
        options.onDecision?.(decisionOf(newest, 'reused'));
        return newest.verifiedPeer()!;
      }
      const key = `${agentContext.contextCorrelationId}\u0000${connectionId}\u0000${fingerprint}`;
      running = this.#inFlight.get(key);
      if (running === undefined) {
        running = this.#verify(agentContext, connection, policy, fingerprint, options).finally(() =>
          this.#inFlight.delete(key),
        );
        this.#inFlight.set(key, running);
      }
    }
    const outcome = await running;
    options.onDecision?.(outcome.decision);
    if ('err' in outcome) throw outcome.err;
    return outcome.peer;
  }

  /**
   * Records the gate's refusal of the peer on `connection` after its verification (a proposal
   * naming another address than the verified one): it ends reliance on that verification.
   */
  public async recordRefusal(
    agentContext: AgentContext,
    connection: DidCommConnectionRecord,
    policy: PeerPolicy,
    err: PeerNotAuthorizedError,
    options: VerifyOptions = {},
  ): Promise<void> {
    const record = this.#refusal(connection, policyFingerprint(policy), (options.now ?? Date.now)(), err);
    await this.#record(agentContext, record);
    options.onDecision?.(decisionOf(record, 'refused'));
  }

  /** Ends reliance on the verification of the peer on `connectionId`: the next channel verifies again. */
  public async forget(agentContext: AgentContext, connectionId: string, now = Date.now()): Promise<void> {
    const newest = await this.#newestOf(agentContext, connectionId);
    if (newest === null || newest.outcome !== 'verified' || newest.endedAt !== undefined) return;
    newest.endedAt = iso(now);
    await this.records.update(agentContext, newest);
  }

  /** The recorded verifications of the peer on `connectionId`, newest first. */
  public async history(agentContext: AgentContext, connectionId: string): Promise<PeerVerificationRecord[]> {
    const all = await this.records.findByQuery(agentContext, { connectionId });
    return all.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  }

  async #verify(
    agentContext: AgentContext,
    connection: DidCommConnectionRecord,
    policy: PeerPolicy,
    fingerprint: string,
    options: VerifyOptions,
  ): Promise<Outcome> {
    const verifiedAt = (options.now ?? Date.now)();
    let peer: VerifiedPeer;
    try {
      peer = await this.verifier.verifyPeer(agentContext, connection.id, policy, options);
    } catch (err) {
      if (!(err instanceof PeerNotAuthorizedError)) throw err;
      const record = this.#refusal(connection, fingerprint, verifiedAt, err);
      await this.#record(agentContext, record);
      return { err, decision: decisionOf(record, 'refused') };
    }
    const until = reliableUntil(verifiedAt, options.reverifyAfterMs ?? 0, peer.expirationDate);
    const record = new PeerVerificationRecord({
      ...this.#about(connection, fingerprint, verifiedAt),
      outcome: 'verified',
      address: peer.address,
      issuer: peer.issuer,
      credentialId: credentialIdOf(peer.credential),
      validUntil: iso(Math.max(verifiedAt, until)),
      peer: storedPeer(peer),
    });
    await this.#record(agentContext, record);
    await this.identities?.bind(agentContext, connection.id, peer.did);
    return { peer, decision: decisionOf(record, 'verified') };
  }

  #about(connection: DidCommConnectionRecord, fingerprint: string, verifiedAt: number) {
    return {
      createdAt: this.#stamp(),
      connectionId: connection.id,
      theirDid: connection.theirDid!,
      ourDid: connection.did!,
      verifiedAt: iso(verifiedAt),
      policy: fingerprint,
    };
  }

  #refusal(
    connection: DidCommConnectionRecord,
    fingerprint: string,
    verifiedAt: number,
    err: PeerNotAuthorizedError,
  ): PeerVerificationRecord {
    const issuer = err.details.issuer;
    return new PeerVerificationRecord({
      ...this.#about(connection, fingerprint, verifiedAt),
      outcome: err.code,
      reason: err.message,
      ...(typeof issuer === 'string' ? { issuer } : {}),
    });
  }

  /**
   * Counts a reliance on `record` and writes the count behind the caller, REUSE_WRITE_MS later:
   * one write at a time per record, each carrying the count of every reliance before it. A failed
   * write (the record pruned meanwhile, the agent stopped) loses only the count.
   */
  #reused(agentContext: AgentContext, record: PeerVerificationRecord, now: number): void {
    record.reuses = (record.reuses ?? 0) + 1;
    record.lastReusedAt = iso(now);
    if (this.#writing.has(record)) {
      this.#dirty.add(record);
      return;
    }
    this.#writing.add(record);
    const write = async () => {
      do {
        await new Promise((resolve) => setTimeout(resolve, REUSE_WRITE_MS).unref());
        this.#dirty.delete(record);
        await this.records.update(agentContext, record);
      } while (this.#dirty.has(record));
    };
    write()
      .catch(() => this.#dirty.delete(record))
      .finally(() => this.#writing.delete(record));
  }

  #stamp(): Date {
    this.#lastStamp = Math.max(Date.now(), this.#lastStamp + 1);
    return new Date(this.#lastStamp);
  }

  #contextMap(agentContext: AgentContext): Map<string, PeerVerificationRecord | null> {
    let map = this.#newest.get(agentContext.contextCorrelationId);
    if (map === undefined) this.#newest.set(agentContext.contextCorrelationId, (map = new Map()));
    return map;
  }

  async #newestOf(agentContext: AgentContext, connectionId: string): Promise<PeerVerificationRecord | null> {
    const map = this.#contextMap(agentContext);
    const known = map.get(connectionId);
    if (known !== undefined) return known;
    const [stored] = await this.history(agentContext, connectionId);
    // A verification recorded while this read ran is newer than what it found.
    if (!map.has(connectionId)) map.set(connectionId, stored ?? null);
    return map.get(connectionId)!;
  }

  /** Stores `record` as the newest of its connection and deletes the oldest beyond VERIFICATIONS_KEPT. */
  async #record(agentContext: AgentContext, record: PeerVerificationRecord): Promise<void> {
    await this.#newestOf(agentContext, record.connectionId);
    this.#contextMap(agentContext).set(record.connectionId, record);
    await this.records.save(agentContext, record);
    const old = (await this.history(agentContext, record.connectionId)).slice(VERIFICATIONS_KEPT);
    for (const r of old) await this.records.delete(agentContext, r);
  }
}
