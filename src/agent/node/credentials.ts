// Peer credentials, both roles. Issuer: issues over DIDComm (unasked, or answering a holder's
// request when auto-issue is on), signs one for import, offers one for sale (./credential-sales.ts).
// Holder: requests one, imports one, lists what it holds. A credential is made out to the holder's
// identity DID, which the holder names: as the subject of its request (issue-credential v2
// proposal) and in its address proof; the peer's verified identity serves where it is bound, and
// the holder's DID on the connection where it names none (a plain Aries holder).
import {
  ClaimFormat,
  JsonTransformer,
  W3cJsonLdVerifiableCredential,
  type W3cCredentialRecord,
} from '@credo-ts/core';
import {
  DidCommAutoAcceptCredential,
  DidCommCredentialEventTypes,
  DidCommCredentialRole,
  DidCommCredentialState,
  type DidCommConnectionRecord,
  type DidCommCredentialStateChangedEvent,
} from '@credo-ts/didcomm';
import { getAddress, isAddress } from 'ethers';
import {
  PEER_CREDENTIAL_TYPE,
  PROOF_TYPE,
  PeerNotAuthorizedError,
  addressClaims,
  peerCredentialJson,
  type AddressBackend,
} from '../../protocols/identity/index.js';
import { ApiRequestError } from '../api/api-error.js';
import { parseAmount } from '../api/amounts.js';
import type { Connections } from './connections.js';
import type { NodeContext } from './context.js';
import { coinDecimals } from './ledger.js';
import type { CredentialSales } from './credential-sales.js';
import type {
  CredentialSaleView,
  CredentialView,
  IssueCredentialRequest,
  OfferCredentialRequest,
  SignCredentialRequest,
  SignedCredentialView,
} from './types.js';
import { credentialView } from './views.js';

export class Credentials {
  constructor(
    private readonly ctx: NodeContext,
    private readonly connections: Connections,
    private readonly sales: CredentialSales,
  ) {}

  async list(): Promise<CredentialView[]> {
    const records = await this.ctx.agent.w3cCredentials.getAll();
    return records.flatMap((r) => {
      const vc = r.firstCredential;
      return vc.claimFormat === ClaimFormat.LdpVc && vc.type.includes(PEER_CREDENTIAL_TYPE)
        ? [credentialView(r.id, vc as W3cJsonLdVerifiableCredential)]
        : [];
    });
  }

  async issue(req: IssueCredentialRequest): Promise<CredentialView> {
    const c = await this.connections.ready(req.connectionId);
    parseAmount(req.spendingLimit); // a malformed amount is refused before the holder is asked
    const expirationDate = dateField('expirationDate', req.expirationDate);
    let address: { address: string; backend?: AddressBackend };
    let named: string | undefined;
    if (req.ethereumAddress !== undefined) {
      if (!isAddress(req.ethereumAddress))
        throw new ApiRequestError(400, 'INVALID_REQUEST', 'not an Ethereum address', {
          field: 'ethereumAddress',
        });
      address = { address: getAddress(req.ethereumAddress) };
      named = await this.holderDid(c);
    } else {
      const proven = await this.ctx.agent.modules.identity.provenHolder(c.id, {
        timeoutMs: this.ctx.timeoutMs,
      });
      address = proven;
      named = proven.identityDid;
    }
    const spendingLimit = parseAmount(req.spendingLimit, coinDecimals(address.backend));
    const vc = await this.ctx.issuer.issue(
      c.id,
      { ...addressClaims(address), name: req.name, spendingLimit },
      { expirationDate, timeoutMs: this.ctx.timeoutMs, subject: named ?? this.#knownHolderDid(c) },
    );
    return credentialView(vc.id ?? `${c.id}:${vc.issuanceDate}`, vc);
  }

  async request(connectionId: string, name: string): Promise<CredentialView> {
    const c = await this.connections.ready(connectionId);
    if (typeof name !== 'string' || name.trim() === '')
      throw new ApiRequestError(400, 'INVALID_REQUEST', 'a name is required', { field: 'name' });
    const done = this.#nextCredential(c.id);
    try {
      await this.ctx.agent.didcomm.credentials.proposeCredential({
        connectionId: c.id,
        protocolVersion: 'v2',
        credentialFormats: {
          jsonld: {
            credential: peerCredentialJson(c.theirDid!, this.ctx.identity.did, {
              ...this.ctx.ledger.claims,
              name,
              spendingLimit: 0n,
            }),
            options: { proofType: PROOF_TYPE, proofPurpose: 'assertionMethod' },
          },
        },
        autoAcceptCredential: DidCommAutoAcceptCredential.Always,
      });
      return await done.wait(this.ctx.timeoutMs);
    } finally {
      done.stop();
    }
  }

  async sign(req: SignCredentialRequest): Promise<SignedCredentialView> {
    if (!isAddress(req.ethereumAddress))
      throw new ApiRequestError(400, 'INVALID_REQUEST', 'not an Ethereum address', {
        field: 'ethereumAddress',
      });
    if (!/^did:[a-z0-9]+:\S+$/.test(req.subject))
      throw new ApiRequestError(400, 'INVALID_REQUEST', 'the subject must be a DID', { field: 'subject' });
    const vc = await this.ctx.issuer.sign(
      req.subject,
      { ethereumAddress: req.ethereumAddress, name: req.name, spendingLimit: parseAmount(req.spendingLimit) },
      {
        issuanceDate: dateField('issuanceDate', req.issuanceDate),
        expirationDate: dateField('expirationDate', req.expirationDate),
      },
    );
    return { credential: JSON.stringify(JsonTransformer.toJSON(vc)) };
  }

  async import(credential: string): Promise<CredentialView> {
    const refuse = (why: string): never => {
      throw new ApiRequestError(400, 'INVALID_CREDENTIAL', why, { field: 'credential' });
    };
    let vc: W3cJsonLdVerifiableCredential;
    try {
      vc = JsonTransformer.fromJSON(JSON.parse(credential), W3cJsonLdVerifiableCredential);
    } catch (err) {
      return refuse(
        `not a JSON-LD verifiable credential (${err instanceof Error ? err.message : String(err)})`,
      );
    }
    if (!vc.type.includes(PEER_CREDENTIAL_TYPE)) refuse(`not a ${PEER_CREDENTIAL_TYPE}`);
    if (!vc.credentialSubjectIds.includes(this.ctx.identity.did))
      refuse('the credential is not made out to our DID');
    const record = await this.ctx.agent.modules.identity.storePeerCredential(vc);
    return credentialView(record.id, vc);
  }

  async offer(req: OfferCredentialRequest): Promise<CredentialSaleView> {
    const c = await this.connections.ready(req.connectionId);
    let claims: unknown;
    try {
      claims = JSON.parse(req.claims);
    } catch {
      claims = undefined;
    }
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
      throw new ApiRequestError(400, 'INVALID_REQUEST', 'claims must be a JSON object', { field: 'claims' });
    }
    return this.sales.offer(c, claims as Record<string, unknown>, req.price);
  }

  /**
   * The DID to make a credential for the holder on `c` out to: the identity DID it names in an
   * address proof, else its verified identity on `c`, else its DID on `c`.
   */
  async holderDid(c: DidCommConnectionRecord): Promise<string> {
    const proven = await this.ctx.agent.modules.identity
      .provenHolder(c.id, { timeoutMs: this.ctx.timeoutMs })
      .catch(() => undefined);
    return proven?.identityDid ?? this.#knownHolderDid(c);
  }

  /** The holder's verified identity on `c`, else its DID on `c`. */
  #knownHolderDid(c: DidCommConnectionRecord): string {
    return this.ctx.agent.modules.identity.peerIdentityOf(c.id) ?? c.theirDid!;
  }

  /** Follows credential exchanges (a credential arrived, a holder asks for one); returns the stop. */
  listen(): () => void {
    const { agent } = this.ctx;
    const onCredential = (e: DidCommCredentialStateChangedEvent) => this.#onExchange(e);
    agent.events.on(DidCommCredentialEventTypes.DidCommCredentialStateChanged, onCredential);
    return () => agent.events.off(DidCommCredentialEventTypes.DidCommCredentialStateChanged, onCredential);
  }

  /** Holder: a credential arrived. Issuer: a holder asked for one (issued when auto-issue is on). */
  #onExchange(e: DidCommCredentialStateChangedEvent): void {
    const r = e.payload.credentialExchangeRecord;
    if (r.role === DidCommCredentialRole.Holder && r.state === DidCommCredentialState.Done) {
      this.#credentialOf(r.credentials.map((c) => c.credentialRecordId)).then(
        (view) => {
          if (view !== undefined) this.ctx.events.emit({ type: 'credential-received', credential: view });
        },
        (err: unknown) => this.ctx.log(`received credential not read: ${(err as Error).message}`),
      );
    }
    if (r.role === DidCommCredentialRole.Issuer && r.state === DidCommCredentialState.ProposalReceived) {
      const limit = this.ctx.config.autoIssueSpendingLimit;
      if (limit === '') {
        this.ctx.log(`credential request on ${r.connectionId}: issue it with issue-credential`);
        return;
      }
      void this.#answerRequest(r.id, r.connectionId!, limit).catch((err: unknown) =>
        this.ctx.log(`credential request on ${r.connectionId} not answered: ${(err as Error).message}`),
      );
    }
  }

  /** Answers a holder's request with a credential, its spending limit `limit` in the coin of the proven address's backend. */
  async #answerRequest(recordId: string, connectionId: string, limit: string): Promise<void> {
    const { agent } = this.ctx;
    const c = await this.connections.ready(connectionId);
    const proposal = (await agent.didcomm.credentials.getFormatData(recordId)).proposal?.jsonld?.credential;
    const subject = proposal?.credentialSubject as { id?: unknown; name?: unknown } | undefined;
    const name = typeof subject?.name === 'string' && subject.name.trim() !== '' ? subject.name : undefined;
    const decline = () =>
      agent.didcomm.credentials.declineOffer({ credentialExchangeRecordId: recordId }).catch(() => undefined);
    if (name === undefined) return void (await decline());
    const proven = await agent.modules.identity.provenHolder(c.id, { timeoutMs: this.ctx.timeoutMs });
    const { identityDid } = proven;
    // The subject the holder asks for is its identity DID, the one its address proof names.
    const asked = typeof subject?.id === 'string' ? subject.id : undefined;
    if (asked !== undefined && identityDid !== undefined && asked !== identityDid)
      return void (await decline());
    const holderDid = identityDid ?? asked ?? this.#knownHolderDid(c);
    await agent.didcomm.credentials.negotiateProposal({
      credentialExchangeRecordId: recordId,
      credentialFormats: {
        jsonld: {
          credential: peerCredentialJson(this.ctx.issuer.did, holderDid, {
            ...addressClaims(proven),
            name,
            spendingLimit: parseAmount(limit, coinDecimals(proven.backend)),
          }),
          options: { proofType: PROOF_TYPE, proofPurpose: 'assertionMethod' },
        },
      },
      autoAcceptCredential: DidCommAutoAcceptCredential.Always,
    });
  }

  async #credentialOf(ids: string[]): Promise<CredentialView | undefined> {
    for (const id of ids) {
      const r: W3cCredentialRecord | null = await this.ctx.agent.w3cCredentials.getById(id).catch(() => null);
      const vc = r?.firstCredential;
      if (r !== null && vc?.claimFormat === ClaimFormat.LdpVc && vc.type.includes(PEER_CREDENTIAL_TYPE))
        return credentialView(r.id, vc as W3cJsonLdVerifiableCredential);
    }
    return undefined;
  }

  /** The next credential received on `connectionId`. */
  #nextCredential(connectionId: string) {
    const { agent, events } = this.ctx;
    let stop = () => undefined as void;
    const promise = new Promise<CredentialView>((resolve, reject) => {
      const unsubscribe = events.subscribe((e) => {
        if (e.type === 'credential-received') resolve(e.credential);
      });
      const onFail = (ev: DidCommCredentialStateChangedEvent) => {
        const r = ev.payload.credentialExchangeRecord;
        if (
          r.connectionId === connectionId &&
          [DidCommCredentialState.Abandoned, DidCommCredentialState.Declined].includes(r.state)
        )
          reject(
            new PeerNotAuthorizedError('no-credential', `the issuer refused: ${r.errorMessage ?? r.state}`),
          );
      };
      agent.events.on(DidCommCredentialEventTypes.DidCommCredentialStateChanged, onFail);
      stop = () => {
        unsubscribe();
        agent.events.off(DidCommCredentialEventTypes.DidCommCredentialStateChanged, onFail);
      };
    });
    promise.catch(() => undefined);
    return {
      wait: (ms: number) =>
        Promise.race([
          promise,
          new Promise<never>((_, reject) =>
            setTimeout(
              () => reject(new PeerNotAuthorizedError('timeout', 'no credential arrived in time')),
              ms,
            ).unref(),
          ),
        ]),
      stop: () => stop(),
    };
  }
}

/** An optional ISO 8601 date of a request; a 400 naming the field if it is not one. */
function dateField(field: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new ApiRequestError(400, 'INVALID_REQUEST', `${field} is not a date`, { field });
  return d;
}
