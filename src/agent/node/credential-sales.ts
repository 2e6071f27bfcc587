// Credentials sold over a pay-for-credential app channel (src/channels/ethereum/apps/
// credential-payment.ts), both roles. The issuer offers a credential for a price over DIDComm
// (src/protocols/credential-sale); the holder buys it by proposing an app channel that locks the
// price against the credential's digest; the issuer accepts only a channel that matches one of its
// offers, and once it is open answers with its signature over the digest, which takes the price.
// If the holder does not sign that update, the issuer enforces it on chain. The holder completes
// the credential with the signature, from the update or from the chain, and keeps it. Sales are
// Credo generic records, so they survive a restart.
import { randomUUID } from 'node:crypto';
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import { getAddress } from 'ethers';
import type { PerunIdentityAgent } from '../credo/agent.js';
import type { ChannelClient, ClientEvent, IncomingProposal } from '../../channels/client.js';
import {
  credentialDigest,
  credentialPaymentDataOf,
  decodeCredentialPaymentData,
  deliver,
  encodeOffer,
  signCredential,
  verifyCredentialSignature,
} from '../../channels/ethereum/apps/credential-payment.js';
import type { EthereumSigner } from '../../channels/ethereum/signer.js';
import type { ChannelInfo } from '../../channels/client.js';
import type { Hex, State } from '../../channels/types.js';
import { sameHex } from '../../channels/validation.js';
import type { SaleOffer } from '../../protocols/credential-sale/services/credential-sale-service.js';
import { ApiRequestError } from '../api/api-error.js';
import { formatAmount, parseAmount } from '../api/amounts.js';
import type { CredentialSaleView, NodeEvent } from './types.js';

const SALE_RECORD = 'credential-sale';

interface Sale {
  id: string;
  role: 'issuer' | 'holder';
  connectionId: string;
  peerDid: string;
  credential: Record<string, unknown>;
  digest: Hex;
  /** Wei, decimal. */
  price: string;
  status: CredentialSaleView['status'];
  channelId?: string;
  /** Holder: the credential with the issuer's signature as its proof. */
  signed?: Record<string, unknown>;
  reason?: string;
}

export interface CredentialSalesOptions {
  agent: PerunIdentityAgent;
  client: ChannelClient;
  /** The Ethereum key that signs delivered credentials (refused on a TON node). */
  signer: () => EthereumSigner;
  chainId: bigint;
  /** The pay-for-credential app's address on this chain; undefined: sales are not possible. */
  app: Hex | undefined;
  emit: (e: NodeEvent) => void;
  log: (line: string) => void;
  /** The DID of the holder on a connection that a credential is made out to (./credentials.ts). */
  holderDid: (connection: DidCommConnectionRecord) => Promise<string>;
  /** The peer's verified identity on a connection, if one is bound. */
  peerIdentityOf: (connectionId: string) => string | undefined;
  /** Proposes an app channel to the verified peer on the connection and waits until it is open. */
  propose: (connectionId: string, req: { price: bigint; initData: Hex; app: Hex }) => Promise<ChannelInfo>;
}

export class CredentialSales {
  constructor(private readonly o: CredentialSalesOptions) {}

  /** Issuer: offers the holder on `connection` a credential with `claims` about it for `price` (ETH). */
  async offer(connection: DidCommConnectionRecord, claims: Record<string, unknown>, price: string) {
    this.#requireApp();
    const wei = parseAmount(price);
    if (wei === 0n) throw new ApiRequestError(400, 'INVALID_AMOUNT', 'a price must be positive', { price });
    if ('id' in claims) {
      throw new ApiRequestError(400, 'INVALID_REQUEST', 'the subject is the holder: claims have no id', {
        field: 'claims',
      });
    }
    const holderDid = await this.o.holderDid(connection);
    const credential: Record<string, unknown> = {
      '@context': ['https://www.w3.org/2018/credentials/v1'],
      type: ['VerifiableCredential', 'PaidCredential'],
      issuer: this.#pkh(this.o.signer().address),
      issuanceDate: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      credentialSubject: { id: holderDid, ...claims },
    };
    const sale: Sale = {
      id: randomUUID(),
      role: 'issuer',
      connectionId: connection.id,
      peerDid: holderDid,
      credential,
      digest: credentialDigest(credential),
      price: wei.toString(),
      status: 'offered',
    };
    await this.#save(sale);
    const offer: SaleOffer = { saleId: sale.id, credential, price: wei };
    await this.o.agent.modules.credentialSale.sendOffer(connection, offer);
    return this.#view(sale);
  }

  /** Holder: records an offer that arrived. */
  async received(offer: SaleOffer, connection: DidCommConnectionRecord): Promise<void> {
    if ((await this.#find(offer.saleId)) !== undefined) return; // a duplicate
    let digest: Hex;
    try {
      digest = credentialDigest(offer.credential);
    } catch (err) {
      this.o.log(`sale offer ${offer.saleId} refused: ${(err as Error).message}`);
      return;
    }
    const sale: Sale = {
      id: offer.saleId,
      role: 'holder',
      connectionId: connection.id,
      peerDid: this.o.peerIdentityOf(connection.id) ?? connection.theirDid!,
      credential: offer.credential,
      digest,
      price: offer.price.toString(),
      status: 'offered',
    };
    await this.#save(sale);
    this.o.emit({ type: 'credential-sale', sale: this.#view(sale) });
  }

  /** Holder: pays for an offered credential through an app channel; resolves once the channel is open. */
  async buy(saleId: string): Promise<CredentialSaleView> {
    const app = this.#requireApp();
    const sale = await this.#get(saleId);
    if (sale.role !== 'holder' || sale.status !== 'offered') {
      throw new ApiRequestError(409, 'SALE_NOT_OPEN', 'this sale cannot be bought (any more)', {
        saleId,
        role: sale.role,
        status: sale.status,
      });
    }
    const price = BigInt(sale.price);
    sale.status = 'paying';
    await this.#save(sale);
    try {
      const channel = await this.o.propose(sale.connectionId, {
        price,
        app,
        initData: encodeOffer({ credentialHash: sale.digest, price }),
      });
      const now = await this.#get(saleId);
      if (now.channelId === undefined) {
        now.channelId = channel.id;
        await this.#save(now);
      }
      return this.#view(now);
    } catch (err) {
      sale.status = 'failed';
      sale.reason = err instanceof Error ? err.message : String(err);
      await this.#save(sale);
      throw err;
    }
  }

  async list(): Promise<CredentialSaleView[]> {
    const records = await this.o.agent.genericRecords.findAllByQuery({ kind: SALE_RECORD });
    return records
      .map((r) => r.content as unknown as Sale)
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((s) => this.#view(s));
  }

  async get(saleId: string): Promise<CredentialSaleView> {
    return this.#view(await this.#get(saleId));
  }

  /**
   * Issuer: a reason to refuse a proposed channel of the app, or undefined when it pays for an
   * open offer to its proposer (channels of other apps, or none, are not ours to judge).
   */
  async refusal(p: IncomingProposal): Promise<string | undefined> {
    if (this.o.app === undefined || !sameHex(p.app, this.o.app)) return undefined;
    let offer;
    try {
      offer = decodeCredentialPaymentData(p.initData);
    } catch {
      return 'not a credential offer';
    }
    if (offer.stage !== 'OFFERED') return 'not a credential offer';
    const sale = (await this.#byDigest(offer.credentialHash)).find((s) => s.role === 'issuer');
    if (sale === undefined || sale.status !== 'offered') return 'no open sale of this credential';
    if (sale.peerDid !== p.peer) return 'the credential was offered to someone else';
    if (BigInt(sale.price) !== offer.price) return 'the price is not the one offered';
    if ((p.fundingAgreement[0]?.[1] ?? 0n) !== 0n) return 'the issuer puts nothing into the channel';
    return undefined;
  }

  /** Both roles: moves sales along with their channels. */
  async onClientEvent(e: ClientEvent): Promise<void> {
    if (this.o.app === undefined) return;
    if (e.type === 'opened') {
      const info = this.o.client.channel(e.channelId);
      if (!sameHex(info.params.app, this.o.app) || info.state === undefined) return;
      const data = decodeCredentialPaymentData(info.state.appData);
      const sale = (await this.#byDigest(data.credentialHash)).find(
        (s) => s.role === (info.idx === 0 ? 'holder' : 'issuer'),
      );
      if (sale === undefined) return;
      sale.channelId = info.id;
      await this.#save(sale);
      if (sale.role === 'issuer') await this.#deliver(sale, info.id);
    } else if (e.type === 'updated' || e.type === 'progressed') {
      await this.#delivered(e.channelId, e.state);
    } else if (e.type === 'settled') {
      const sale = (await this.list()).find((s) => s.channelId === e.channelId);
      if (sale === undefined) return;
      const s = await this.#get(sale.id);
      if (s.status === 'delivered' || s.status === 'paid') {
        s.status = 'settled';
        await this.#save(s);
      }
    }
  }

  /** Issuer: answers the holder's payment with the signature; enforces it on chain if unanswered. */
  async #deliver(sale: Sale, channelId: string): Promise<void> {
    const sig = signCredential(this.o.signer(), sale.digest);
    try {
      await this.o.client.update(channelId, (s) => deliver(s, sig));
      sale.status = 'paid';
      await this.#save(sale);
    } catch (err) {
      this.o.log(
        `sale ${sale.id}: the holder did not sign the delivery (${(err as Error).message}); enforcing it`,
      );
      sale.status = 'enforcing';
      await this.#save(sale);
      await this.o.client.forceUpdate(channelId);
      sale.status = 'paid';
      await this.#save(sale);
    }
    this.o.emit({ type: 'credential-sale', sale: this.#view(sale) });
  }

  /** Holder: completes the credential once a delivery is signed or progressed on chain. */
  async #delivered(channelId: string, state: State): Promise<void> {
    const data = credentialPaymentDataOf(state.appData);
    if (data?.stage !== 'DELIVERED') return;
    const sale = (await this.#byDigest(data.credentialHash)).find((s) => s.role === 'holder');
    if (sale === undefined || sale.signed !== undefined) return;
    const info = this.o.client.channel(channelId);
    const issuer = info.params.participants[1]!.ethAddress;
    if (!verifyCredentialSignature(sale.digest, data.issuerSig, issuer)) return;
    sale.channelId = channelId;
    sale.signed = {
      ...sale.credential,
      proof: {
        type: 'EthereumEip191Signature',
        created: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        proofPurpose: 'assertionMethod',
        verificationMethod: `${this.#pkh(issuer)}#blockchainAccountId`,
        proofValue: data.issuerSig,
      },
    };
    sale.status = 'delivered';
    await this.#save(sale);
    this.o.emit({ type: 'credential-sale', sale: this.#view(sale) });
  }

  #pkh(address: string): string {
    return `did:pkh:eip155:${this.o.chainId}:${getAddress(address)}`;
  }

  #requireApp(): Hex {
    if (this.o.app === undefined) {
      throw new ApiRequestError(409, 'NO_APP', 'the chain file names no pay-for-credential app', {});
    }
    return this.o.app;
  }

  async #find(id: string): Promise<Sale | undefined> {
    const [r] = await this.o.agent.genericRecords.findAllByQuery({ kind: SALE_RECORD, saleId: id });
    return r === undefined ? undefined : (r.content as unknown as Sale);
  }

  async #get(id: string): Promise<Sale> {
    const sale = await this.#find(id);
    if (sale === undefined) throw new ApiRequestError(404, 'UNKNOWN_SALE', 'no such sale', { saleId: id });
    return sale;
  }

  async #byDigest(digest: string): Promise<Sale[]> {
    const rs = await this.o.agent.genericRecords.findAllByQuery({
      kind: SALE_RECORD,
      digest: digest.toLowerCase(),
    });
    return rs.map((r) => r.content as unknown as Sale);
  }

  async #save(sale: Sale): Promise<void> {
    const g = this.o.agent.genericRecords;
    const [r] = await g.findAllByQuery({ kind: SALE_RECORD, saleId: sale.id });
    const content = JSON.parse(JSON.stringify(sale)) as Record<string, never>;
    if (r === undefined) {
      await g.save({
        content,
        tags: { kind: SALE_RECORD, saleId: sale.id, digest: sale.digest.toLowerCase(), role: sale.role },
      });
    } else {
      r.content = content;
      await g.update(r);
    }
  }

  #view(s: Sale): CredentialSaleView {
    return {
      id: s.id,
      role: s.role,
      connectionId: s.connectionId,
      peerDid: s.peerDid,
      price: formatAmount(BigInt(s.price)),
      digest: s.digest,
      status: s.status,
      credential: s.signed ?? s.credential,
      ...(s.channelId === undefined ? {} : { channelId: s.channelId }),
      ...(s.reason === undefined ? {} : { reason: s.reason }),
    };
  }
}
