// EquivocationGuard: a Signer that never signs two different states with one version of one
// channel. Two states signed with one version are a hazard even when neither is fully signed:
// the peer keeps whichever suits it, and an app channel's single-signed state is a move the peer
// can play on chain. The channel client is built never to ask for that (used-up versions,
// ChannelMachine.usedVersion); this guard is the net under it, and what tests use to prove it.
// It keeps a journal of the digest of every state it signed by (channel ID, version) and refuses
// a second, different one with EquivocationError; re-signing the same state is allowed.
import { createHash } from 'node:crypto';
import { PerunError, type ErrorDetails } from './errors.js';
import type { Signer } from './interfaces.js';
import { stateToJson } from './json.js';
import type { Address, Hex, Params, State } from './types.js';

/** A signer was asked for a second, different state with a version it already signed. */
export class EquivocationError extends PerunError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('EQUIVOCATION', message, details, options);
  }
}

/** Where the guard remembers what it signed: digest by "channelID:version". Writes are durable when `record` returns. */
export interface SignatureJournal {
  get(key: string): string | undefined;
  record(key: string, digest: string): void;
  /** Told of each refusal (tests of whole processes read it back). */
  refused?(key: string, digest: string): void;
}

/** A journal in memory (for one process's lifetime, or handed from one client to its restarted successor). */
export class MemorySignatureJournal implements SignatureJournal {
  readonly #entries = new Map<string, string>();

  get(key: string): string | undefined {
    return this.#entries.get(key);
  }

  record(key: string, digest: string): void {
    this.#entries.set(key, digest);
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** SHA-256 of the state's canonical JSON: equal exactly when the states are. */
export function stateDigest(state: State): string {
  return createHash('sha256')
    .update(JSON.stringify(stateToJson(state)))
    .digest('hex');
}

export class EquivocationGuard implements Signer {
  /** Refusals so far (each also thrown to the caller). */
  refusals = 0;

  constructor(
    readonly inner: Signer,
    readonly journal: SignatureJournal = new MemorySignatureJournal(),
  ) {}

  get address(): Address {
    return this.inner.address;
  }

  async signState(state: State, params?: Params): Promise<Hex> {
    const key = `${state.channelID.toLowerCase()}:${state.version}`;
    const digest = stateDigest(state);
    const signed = this.journal.get(key);
    if (signed !== undefined && signed !== digest) {
      this.refusals++;
      this.journal.refused?.(key, digest);
      throw new EquivocationError('refusing to sign a second state with a version already signed', {
        channelId: state.channelID,
        version: state.version.toString(),
      });
    }
    if (signed === undefined) this.journal.record(key, digest);
    return this.inner.signState(state, params);
  }
}
