// Ed25519 participant keys for TON channels, on node:crypto: a TonSigner signs the hash of a
// state's cell and of a withdrawal authorisation's cell (what the contract checks with
// isSignatureValid); verifyStateSignature is the core's StateVerifier for TON. The address of a
// TON participant is its 32-byte public key as 0x-hex.
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { SignatureError } from '../errors.js';
import type { Signer } from '../interfaces.js';
import type { Address, Hex, State } from '../types.js';
import { stateHash, withdrawalAuthCell, type TonWithdrawalAuth } from './encoding.js';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const SIG_RE = /^0x[0-9a-fA-F]{128}$/;
const KEY_RE = /^0x[0-9a-fA-F]{64}$/;

function publicKeyObject(address: Address): KeyObject {
  return createPublicKey({
    key: Buffer.concat([SPKI_PREFIX, Buffer.from(address.slice(2), 'hex')]),
    format: 'der',
    type: 'spki',
  });
}

/** True iff `sig` is the Ed25519 signature of `hash` by the key `address`. */
export function verifyHash(hash: Buffer, sig: Hex, address: Address): boolean {
  if (!SIG_RE.test(sig) || !KEY_RE.test(address)) return false;
  try {
    return verify(null, hash, publicKeyObject(address), Buffer.from(sig.slice(2), 'hex'));
  } catch {
    return false;
  }
}

/** The core's StateVerifier on TON: `address` (an Ed25519 key) signed the hash of `state`'s cell. */
export function verifyStateSignature(state: State, sig: Hex, address: Address): boolean {
  let hash: Buffer;
  try {
    hash = stateHash(state);
  } catch {
    return false;
  }
  return verifyHash(hash, sig, address);
}

export class TonSigner implements Signer {
  readonly address: Address;
  readonly #key: KeyObject;

  /** `seed`: the 32-byte Ed25519 private key seed. */
  constructor(seed: Buffer) {
    if (seed.length !== 32) throw new SignatureError('an Ed25519 seed has 32 bytes', { length: seed.length });
    this.#key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(this.#key).export({ format: 'der', type: 'spki' });
    this.address = `0x${spki.subarray(SPKI_PREFIX.length).toString('hex')}`;
  }

  static random(): TonSigner {
    return new TonSigner(randomBytes(32));
  }

  /** The 32-byte public key. */
  get publicKey(): Buffer {
    return Buffer.from(this.address.slice(2), 'hex');
  }

  signHash(hash: Buffer): Hex {
    return `0x${sign(null, hash, this.#key).toString('hex')}`;
  }

  signState(state: State): Hex {
    return this.signHash(stateHash(state));
  }

  signWithdrawal(auth: TonWithdrawalAuth): Hex {
    return this.signHash(withdrawalAuthCell(auth).hash());
  }
}
