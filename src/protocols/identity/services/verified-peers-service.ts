// The verifications the gate relies on. A peer verified on a connection (presentation and address
// proof, ./peer-verifier-service.ts) stays verified for new channels on that connection while
//   - the newest verification on the connection is that success, and nothing ended it (forget),
//   - the clock is within `reverifyAfterMs` of it and before the credential's expirationDate,
//   - both DIDs on the connection are still the ones it was made with,
//   - the policy is the one it was checked against (policyFingerprint: trusted issuers, type,
//     required claims, address proof), and
//   - the address the caller expects (the proposer's participant) is the verified one.
// Otherwise the peer is verified again. Every verification run here is recorded
// (../peer-verification-record.ts), success or refusal; a refusal is never relied on, and as the
// newest record of its connection it ends reliance on the success before it. The newest record
// per connection is also kept in memory, read from storage once per connection (so after a
// restart a still-valid verification serves on). Concurrent callers on one connection share one
// verification in flight.
import { createHash } from 'node:crypto';
import { injectable, type AgentContext } from '@credo-ts/core';
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import { getAddress, isAddress } from 'ethers';
import { PeerNotAuthorizedError } from '../errors.js';
import {
  PeerVerificationRecord,
  PeerVerificationRepository,
  storedPeer,
} from '../peer-verification-record.js';
import { policyFingerprint, type PeerPolicy, type VerifiedPeer } from '../policy.js';
import { PeerVerifierService, readyConnection, type VerifyOptions } from './peer-verifier-service.js';

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

/** Whether `r`, the newest verification on its connection, may serve under `c`. */
function reliable(r: PeerVerificationRecord, c: Circumstances): boolean {
  if (r.outcome !== 'verified' || r.endedAt !== undefined || r.peer === undefined) return false;
  if (r.theirDid !== c.connection.theirDid || r.ourDid !== c.connection.did) return false;
  if (r.policy !== c.fingerprint) return false;
  if (c.address !== undefined && (!isAddress(c.address) || getAddress(c.address) !== r.address)) return false;
  const at = Date.parse(r.verifiedAt);
  if (!(c.now >= at && c.now < reliableUntil(at, c.reuseMs, r.peer.expirationDate))) return false;
  return true;
}

@injectable()
export class VerifiedPeersService {
  /** Agent context → connection ID → its newest record, or null for none. */
  readonly #newest = new Map<string, Map<string, PeerVerificationRecord | null>>();
  readonly #inFlight = new Map<string, Promise<VerifiedPeer>>();
  /** The last creation time given out, ms: records of this process are ordered even within a millisecond. */
  #lastStamp = 0;

  public constructor(
    private readonly verifier: PeerVerifierService,
    private readonly records: PeerVerificationRepository,
  ) {}

  /**
   * The peer on `connectionId`, verified against `policy`: a verification that may still be relied
   * on (see the header) when `options.reverifyAfterMs` allows, else a new one, recorded. Throws
   * PeerNotAuthorizedError.
   */
  public async verify(
    agentContext: AgentContext,
    connectionId: string,
    policy: PeerPolicy,
    options: VerifyOptions = {},
    expect: PeerExpectation = {},
  ): Promise<VerifiedPeer> {
    const connection = await readyConnection(agentContext, connectionId);
    const fingerprint = policyFingerprint(policy);
    const reuseMs = options.reverifyAfterMs ?? 0;
    if (!(reuseMs > 0)) return this.#verify(agentContext, connection, policy, fingerprint, options);
    const newest = await this.#newestOf(agentContext, connectionId);
    const now = (options.now ?? Date.now)();
    if (
      newest !== null &&
      reliable(newest, { connection, fingerprint, now, reuseMs, address: expect.address })
    )
      return newest.verifiedPeer()!;
    const key = `${agentContext.contextCorrelationId}\u0000${connectionId}\u0000${fingerprint}`;
    let running = this.#inFlight.get(key);
    if (running === undefined) {
      running = this.#verify(agentContext, connection, policy, fingerprint, options).finally(() =>
        this.#inFlight.delete(key),
      );
      this.#inFlight.set(key, running);
    }
    return running;
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
  ): Promise<VerifiedPeer> {
    const now = options.now ?? Date.now;
    const verifiedAt = now();
    const about = {
      connectionId: connection.id,
      theirDid: connection.theirDid!,
      ourDid: connection.did!,
      verifiedAt: iso(verifiedAt),
      policy: fingerprint,
    };
    let peer: VerifiedPeer;
    try {
      peer = await this.verifier.verifyPeer(agentContext, connection.id, policy, options);
    } catch (err) {
      if (!(err instanceof PeerNotAuthorizedError)) throw err;
      const issuer = err.details.issuer;
      await this.#record(
        agentContext,
        new PeerVerificationRecord({
          ...about,
          createdAt: this.#stamp(),
          outcome: err.code,
          reason: err.message,
          ...(typeof issuer === 'string' ? { issuer } : {}),
        }),
      );
      throw err;
    }
    const until = reliableUntil(verifiedAt, options.reverifyAfterMs ?? 0, peer.expirationDate);
    await this.#record(
      agentContext,
      new PeerVerificationRecord({
        ...about,
        createdAt: this.#stamp(),
        outcome: 'verified',
        address: peer.address,
        issuer: peer.issuer,
        credentialId: credentialIdOf(peer.credential),
        validUntil: iso(Math.max(verifiedAt, until)),
        peer: storedPeer(peer),
      }),
    );
    return peer;
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
