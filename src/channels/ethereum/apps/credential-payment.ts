// The pay-for-credential app off chain (contracts/CredentialPaymentApp.sol): its app data codec,
// the digest of the credential the holder pays for, the issuer's signature over that digest, and
// the App whose validInit/validTransition refuse exactly what the contract refuses, with the
// contract's revert reason as the message. Participant 0 is the holder, 1 the issuer; the only
// move is the issuer's final delivery, which carries its signature and takes the price.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { getBytes, hexlify } from 'ethers';
import type { App } from '../../app.js';
import {
  EncodingError,
  InvalidStateError,
  InvalidTransitionError,
  SignatureError,
  ValidationError,
} from '../../errors.js';
import type { Address, Hex, Params, State } from '../../types.js';
import { MAX_UINT256, isBytes, isBytes32 } from '../../validation.js';
import { verifySignature, type EthereumSigner } from '../signer.js';

export const HOLDER = 0;
export const ISSUER = 1;
/** Bytes of the app data: credentialHash (32) | price (32) | stage (1) [| issuerSig (65)]. */
export const OFFER_LENGTH = 65;
export const DELIVERY_LENGTH = 130;

export interface CredentialOffer {
  /** credentialDigest of the credential the holder pays for. */
  credentialHash: Hex;
  /** In asset 0. */
  price: bigint;
}

export interface CredentialDelivery extends CredentialOffer {
  /** The issuer's EIP-191 signature over credentialHash. */
  issuerSig: Hex;
}

export type CredentialPaymentData =
  ({ stage: 'OFFERED' } & CredentialOffer) | ({ stage: 'DELIVERED' } & CredentialDelivery);

// ---------------------------------------------------------------------------------------------
// App data

function word(price: bigint): string {
  if (typeof price !== 'bigint' || price < 0n || price > MAX_UINT256) {
    throw new EncodingError('price must be a uint256', { price: String(price) });
  }
  return price.toString(16).padStart(64, '0');
}

function hashField(credentialHash: Hex): string {
  if (!isBytes32(credentialHash)) {
    throw new EncodingError('credentialHash must be 32 bytes', { credentialHash });
  }
  return credentialHash.slice(2).toLowerCase();
}

export function encodeOffer({ credentialHash, price }: CredentialOffer): Hex {
  return '0x' + hashField(credentialHash) + word(price) + '00';
}

export function encodeDelivery({ credentialHash, price, issuerSig }: CredentialDelivery): Hex {
  if (typeof issuerSig !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(issuerSig)) {
    throw new EncodingError('issuerSig must be 65 bytes', { issuerSig });
  }
  return '0x' + hashField(credentialHash) + word(price) + '01' + issuerSig.slice(2).toLowerCase();
}

function parse(data: unknown): CredentialPaymentData | undefined {
  if (!isBytes(data)) return undefined;
  const length = (data.length - 2) / 2;
  if (length !== OFFER_LENGTH && length !== DELIVERY_LENGTH) return undefined;
  const credentialHash = '0x' + data.slice(2, 66).toLowerCase();
  const price = BigInt('0x' + data.slice(66, 130));
  const stage = parseInt(data.slice(130, 132), 16);
  if (length === OFFER_LENGTH && stage === 0) return { stage: 'OFFERED', credentialHash, price };
  if (length === DELIVERY_LENGTH && stage === 1) {
    return { stage: 'DELIVERED', credentialHash, price, issuerSig: '0x' + data.slice(132).toLowerCase() };
  }
  return undefined;
}

/** The app data's fields, or undefined for data of another shape (no error made: every update of any channel asks). */
export function credentialPaymentDataOf(data: Hex): CredentialPaymentData | undefined {
  return parse(data);
}

/** Throws ValidationError APP_RULE unless `data` is a 65-byte offer or a 130-byte delivery. */
export function decodeCredentialPaymentData(data: Hex): CredentialPaymentData {
  const decoded = parse(data);
  if (decoded === undefined) {
    throw new ValidationError('APP_RULE', 'malformed credential payment data', {
      length: isBytes(data) ? (data.length - 2) / 2 : undefined,
    });
  }
  return decoded;
}

// ---------------------------------------------------------------------------------------------
// The credential and the issuer's signature

/**
 * keccak256 of the credential's canonical JSON (keys sorted by UTF-16 code units at every level,
 * no whitespace, JSON.stringify's strings and numbers: RFC 8785 for plain JSON values), without
 * its top-level `proof`. Object properties that are undefined are left out, as in JSON; anything
 * else that is not plain JSON (bigint, NaN, a Date, a cycle) is refused with an EncodingError.
 */
export function credentialDigest(credential: object): Hex {
  if (!isPlainObject(credential)) {
    throw new EncodingError('a credential must be a plain JSON object', { path: '$' });
  }
  const { proof: _proof, ...claims } = credential as Record<string, unknown>;
  const json = canonicalJson(claims, '$', new Set());
  return hexlify(keccak_256(new TextEncoder().encode(json)));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function canonicalJson(v: unknown, path: string, open: Set<object>): string {
  const refuse = (why: string): never => {
    throw new EncodingError(`credential is not plain JSON at ${path}: ${why}`, { path });
  };
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? JSON.stringify(v) : refuse('a non-finite number');
    case 'object': {
      if (open.has(v)) refuse('a cycle');
      open.add(v);
      let out: string;
      if (Array.isArray(v)) {
        out = `[${v.map((x, i) => canonicalJson(x, `${path}[${i}]`, open)).join(',')}]`;
      } else if (isPlainObject(v)) {
        const keys = Object.keys(v)
          .filter((k) => v[k] !== undefined)
          .sort();
        out = `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k], `${path}.${k}`, open)}`).join(',')}}`;
      } else {
        out = refuse('not a plain object');
      }
      open.delete(v);
      return out;
    }
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
    default:
      return refuse(`a ${typeof v}`);
  }
}

/** The issuer's signature over a credential digest: EIP-191, 65 bytes, low s, v 27/28 (Sig.sol). */
export function signCredential(signer: EthereumSigner, digest: Hex): Hex {
  if (!isBytes32(digest)) throw new SignatureError('credential digest must be 32 bytes', { digest });
  return signer.signHash(getBytes(digest));
}

/** True iff `sig` is `address`'s signature over `digest`, exactly as Sig.verify decides it. */
export function verifyCredentialSignature(digest: Hex, sig: Hex, address: Address): boolean {
  return isBytes32(digest) && verifySignature(getBytes(digest), sig, address);
}

// ---------------------------------------------------------------------------------------------
// The app

/** The DELIVERED successor of the offer `from`: the price moved to the issuer, final. */
export function deliver(from: State, issuerSig: Hex): State {
  const offer = parse(from.appData);
  if (offer?.stage !== 'OFFERED') {
    throw new ValidationError('APP_RULE', 'not an offer', { channelID: from.channelID });
  }
  const [row, ...others] = from.outcome.balances;
  if (row?.length !== 2 || row[HOLDER]! < offer.price) {
    throw new ValidationError('APP_RULE', 'holder cannot pay price', {
      channelID: from.channelID,
      price: String(offer.price),
    });
  }
  const [holder, issuer] = row as [bigint, bigint];
  return {
    ...from,
    version: from.version + 1n,
    appData: encodeDelivery({ ...offer, issuerSig }),
    isFinal: true,
    outcome: {
      ...from.outcome,
      balances: [[holder - offer.price, issuer + offer.price], ...others.map((r) => [...r])],
    },
  };
}

function validInit(params: Params, state: State): void {
  const refusal = (message: string, details: Record<string, unknown> = {}) =>
    new InvalidStateError('APP_RULE', message, { channelID: state.channelID, ...details });
  if (params.participants.length !== 2) throw refusal('two participants');
  const offer = parse(state.appData);
  if (offer?.stage !== 'OFFERED') throw refusal('not an offer');
  if (state.isFinal) throw refusal('offer is final');
  if (state.outcome.locked.length > 0) throw refusal('funds locked');
  const balance = state.outcome.balances[0]?.[HOLDER];
  if (balance === undefined || balance < offer.price) {
    throw refusal('holder cannot pay price', { price: String(offer.price), balance: String(balance) });
  }
}

function validTransition(params: Params, from: State, to: State, actor: number): void {
  const refusal = (message: string, details: Record<string, unknown> = {}) =>
    new InvalidTransitionError('APP_RULE', message, { channelID: from.channelID, actor, ...details });
  if (params.participants.length !== 2) throw refusal('two participants');
  if (actor !== ISSUER) throw refusal('actor not issuer');
  const offer = parse(from.appData);
  if (offer?.stage !== 'OFFERED') throw refusal('from not offered');
  const delivery = parse(to.appData);
  if (delivery?.stage !== 'DELIVERED') throw refusal('to not delivered');
  const { credentialHash, price } = offer;
  if (delivery.credentialHash !== credentialHash) throw refusal('credential changed');
  if (delivery.price !== price) throw refusal('price changed');
  const issuer = params.participants[ISSUER]!.ethAddress;
  if (!verifyCredentialSignature(credentialHash, delivery.issuerSig, issuer)) {
    throw refusal('bad issuer signature', { issuer });
  }
  if (!to.isFinal) throw refusal('not final');

  const before = from.outcome.balances;
  const after = to.outcome.balances;
  const was = before[0];
  const becomes = after[0];
  if (was?.length !== 2 || becomes?.length !== 2 || after.length !== before.length) {
    throw refusal('balances malformed');
  }
  const [holderWas, issuerWas] = was as [bigint, bigint];
  const [holderBecomes, issuerBecomes] = becomes as [bigint, bigint];
  if (holderWas < price || holderWas - holderBecomes !== price) {
    throw refusal('holder must pay price', { price: String(price) });
  }
  if (issuerBecomes - issuerWas !== price) throw refusal('issuer must get price', { price: String(price) });
  for (let a = 1; a < before.length; a++) {
    const x = before[a]!;
    const y = after[a]!;
    if (x.length !== y.length || x.some((v, p) => v !== y[p])) {
      throw refusal('other assets changed', { asset: a });
    }
  }
}

/** The pay-for-credential app deployed at `address`. */
export function credentialPaymentApp(address: Address): App {
  return { address, name: 'credential-payment', validInit, validTransition };
}
