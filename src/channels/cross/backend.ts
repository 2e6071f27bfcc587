// The Ethereum–TON backend as the channel core sees it: channel IDs (the Ethereum ones), a
// signer that signs every state for both chains (EIP-191 secp256k1 over the ABI encoding of the
// whole state ‖ Ed25519 over the TON projection's cell, 129 bytes), and a verifier that accepts a
// signature only when both parts verify, so a state counts as signed only when both chains would
// take it. It also remembers the params of each channel that became ours (funded on a ledger or
// restored), by channel ID, for the ledger adapters' calls that name only the ID (./ledgers.ts);
// proposals that never get that far leave nothing behind.
import { EncodingError } from '../errors.js';
import { verifyStateSignature as verifyEth, type EthereumSigner } from '../ethereum/signer.js';
import type { ChannelBackend, Signer } from '../interfaces.js';
import { verifyStateSignature as verifyTon, type TonSigner } from '../ton/signer.js';
import type { Address, Hex, Params, State } from '../types.js';
import {
  checkCrossParams,
  crossAssets,
  crossChannelId,
  crossTonChannelId,
  joinSig,
  sigParts,
  tonState,
} from './projection.js';

export class CrossBackend implements ChannelBackend {
  readonly #params = new Map<string, Params>();
  /** TON channel ID → core channel ID, both lower-case. */
  readonly #fromTon = new Map<string, string>();

  readonly channelId = (params: Params): Hex => crossChannelId(params);

  /** Both parts verify: ECDSA by `address` on the state, Ed25519 by its ccAddress on the TON projection. */
  readonly verifyState = (state: State, sig: Hex, address: Address, params?: Params): boolean => {
    if (params === undefined) return false;
    try {
      const p = params.participants.find((x) => x.ethAddress.toLowerCase() === address.toLowerCase());
      if (p === undefined || this.channelId(params).toLowerCase() !== state.channelID.toLowerCase())
        return false;
      const { eth, ton } = sigParts(sig);
      return verifyEth(state, eth, address) && verifyTon(tonState(params, state), ton, p.ccAddress);
    } catch {
      return false;
    }
  };

  /** A restored channel: its params are remembered for the ledgers' ID-only calls. */
  adopt(params: Params): void {
    this.track(params);
  }

  /** A channel of ours on a ledger (funding, a dispute, a payout): remember its params. */
  track(params: Params): void {
    const key = crossChannelId(params).toLowerCase();
    if (this.#params.has(key)) return;
    this.#params.set(key, structuredClone(params));
    this.#fromTon.set(crossTonChannelId(params).toLowerCase(), key);
  }

  /** Refuses (EncodingError) what an Ethereum–TON channel cannot be (./projection.ts). */
  checkChannel(params: Params, state: State): void {
    checkCrossParams(params);
    crossAssets(state);
  }

  /** The params of a channel tracked here (EncodingError when unknown). */
  params(channelID: Hex): Params {
    const p = this.#params.get(channelID.toLowerCase());
    if (p === undefined) throw new EncodingError('not an Ethereum–TON channel known here', { channelID });
    return p;
  }

  /** How many channels' params are kept here. */
  get tracked(): number {
    return this.#params.size;
  }

  /** Whether the channel's params are known here. */
  knows(channelID: Hex): boolean {
    return this.#params.has(channelID.toLowerCase());
  }

  /** The TON channel ID of a known channel. */
  tonId(channelID: Hex): Hex {
    return crossTonChannelId(this.params(channelID));
  }

  /** The core channel ID of a TON channel ID, if it is one of the known channels. */
  fromTon(tonID: Hex): Hex | undefined {
    return this.#fromTon.get(tonID.toLowerCase());
  }
}

/** A participant's key pair for both chains; `address` is the Ethereum address. */
export class CrossSigner implements Signer {
  readonly eth: EthereumSigner;
  readonly ton: TonSigner;

  constructor(eth: EthereumSigner, ton: TonSigner) {
    this.eth = eth;
    this.ton = ton;
  }

  get address(): Address {
    return this.eth.address;
  }

  /** The 32-byte TON key, what a participant carries in ccAddress. */
  get ccAddress(): Hex {
    return this.ton.address;
  }

  signState(state: State, params?: Params): Hex {
    if (params === undefined)
      throw new EncodingError('an Ethereum–TON signature needs the channel params', {
        channelID: state.channelID,
      });
    if (crossChannelId(params).toLowerCase() !== state.channelID.toLowerCase())
      throw new EncodingError('the state is not of the channel of these params', {
        channelID: state.channelID,
      });
    return joinSig(this.eth.signState(state), this.ton.signState(tonState(params, state)));
  }
}
