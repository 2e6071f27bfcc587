// The Perun contract on TON as calls: the message of each operation (built from the schema),
// sent from a wallet with the operation's value (the contract returns what it does not keep),
// and its get-methods (dispute record, holdings).
import type { Address as TonAddress, Cell } from '@ton/core';
import { EncodingError } from '../errors.js';
import type { SignedState } from '../interfaces.js';
import type { Hex, Params, State } from '../types.js';
import { tonArtifact } from './artifact.js';
import type { TonChain, TonWallet } from './chain.js';
import { paramsCell, stateCell, withdrawalAuthCell, type TonWithdrawalAuth } from './encoding.js';
import { encodeStruct, type StructValue } from './schema.js';

/** Value attached to every call for its fees (nanotons); what is not spent comes back. */
export const CALL_VALUE = 50_000_000n;

/** The contract's dispute record of a channel. */
export interface TonDispute {
  registered: boolean;
  /** 0 dispute, 2 concluded. */
  phase: number;
  version: bigint;
  timeout: bigint;
  stateHash: Hex;
}

export const PHASE_DISPUTE = 0;
export const PHASE_CONCLUDED = 2;

const sigValue = (sig: Hex): StructValue => {
  if (!/^0x[0-9a-fA-F]{128}$/.test(sig))
    throw new EncodingError('an Ed25519 signature has 64 bytes', { sig });
  return { bits: Buffer.from(sig.slice(2), 'hex') };
};

function body(name: string, fields: StructValue): Cell {
  return encodeStruct(tonArtifact().schema, name, { queryId: 0n, ...fields });
}

/** Register / ConcludeFinal carry params, state and both signatures. */
function signedFields(params: Params, state: State, sigs: Hex[]): StructValue {
  if (sigs.length !== 2) throw new EncodingError('a TON state needs both signatures', { sigs: sigs.length });
  return {
    params: paramsCell(params),
    state: stateCell(state),
    sigs: { sig0: sigValue(sigs[0]!), sig1: sigValue(sigs[1]!) },
  };
}

export class PerunContract {
  readonly chain: TonChain;
  readonly address: TonAddress;

  constructor(chain: TonChain, address: TonAddress) {
    this.chain = chain;
    this.address = address;
  }

  deposit(from: TonWallet, channelID: Hex, participant: Hex, amount: bigint): Promise<void> {
    const b = body('Deposit', { channelID: BigInt(channelID), participant: BigInt(participant), amount });
    return from.send(this.address, amount + CALL_VALUE, b);
  }

  register(from: TonWallet, signed: SignedState): Promise<void> {
    return from.send(
      this.address,
      CALL_VALUE,
      body('Register', signedFields(signed.params, signed.state, signed.sigs)),
    );
  }

  concludeFinal(from: TonWallet, params: Params, state: State, sigs: Hex[]): Promise<void> {
    return from.send(this.address, CALL_VALUE, body('ConcludeFinal', signedFields(params, state, sigs)));
  }

  conclude(from: TonWallet, params: Params, state: State): Promise<void> {
    const b = body('Conclude', { params: paramsCell(params), state: stateCell(state) });
    return from.send(this.address, CALL_VALUE, b);
  }

  withdraw(from: TonWallet, auth: TonWithdrawalAuth, sig: Hex): Promise<void> {
    const b = body('Withdraw', { auth: withdrawalAuthCell(auth), sig: sigValue(sig) });
    return from.send(this.address, CALL_VALUE, b);
  }

  async dispute(channelID: Hex): Promise<TonDispute> {
    const r = await this.chain.get(this.address, 'dispute', [{ type: 'int', value: BigInt(channelID) }]);
    const registered = r.readBoolean();
    const phase = r.readNumber();
    const version = r.readBigNumber();
    const timeout = r.readBigNumber();
    const stateHash = `0x${r.readBigNumber().toString(16).padStart(64, '0')}`;
    return { registered, phase, version, timeout, stateHash };
  }

  async holdings(fundingID: Hex): Promise<bigint> {
    return (
      await this.chain.get(this.address, 'holdings', [{ type: 'int', value: BigInt(fundingID) }])
    ).readBigNumber();
  }
}
