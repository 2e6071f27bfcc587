// The TON backend's adjudicator and funder for the channel core (../interfaces.ts): dispute calls
// on the Perun contract sent from one wallet, withdrawals signed by the participant's Ed25519
// key to a receiver (default: that wallet), the dispute record as a core stage; deposits of our
// share and a wait until every participant's holding is there.
import type { Address as TonAddress } from '@ton/core';
import { ChainError, FundingTimeoutError } from '../errors.js';
import type {
  Adjudicator,
  Funder,
  FundingRequest,
  OnChainDispute,
  ProgressRequest,
  SignedState,
  WithdrawnAmount,
} from '../interfaces.js';
import { sleep } from '../sleep.js';
import type { Hex, Params, State } from '../types.js';
import type { TonWallet } from './chain.js';
import { PHASE_CONCLUDED, type PerunContract } from './contract.js';
import { fundingId } from './encoding.js';
import type { TonSigner } from './signer.js';

export class TonAdjudicator implements Adjudicator {
  readonly #perun: PerunContract;
  readonly #wallet: TonWallet;
  readonly #signer: TonSigner;
  readonly #receiver: TonAddress;

  constructor(perun: PerunContract, wallet: TonWallet, signer: TonSigner, receiver?: TonAddress) {
    this.#perun = perun;
    this.#wallet = wallet;
    this.#signer = signer;
    this.#receiver = receiver ?? wallet.address;
  }

  async register(channel: SignedState, subChannels: SignedState[] = []): Promise<void> {
    if (subChannels.length > 0)
      throw new ChainError('TON channels have no sub-channels', { count: subChannels.length });
    await this.#perun.register(this.#wallet, channel);
  }

  progress(_req: ProgressRequest): Promise<void> {
    return Promise.reject(new ChainError('TON channels have no app: nothing to progress'));
  }

  async conclude(params: Params, state: State, subStates: State[] = []): Promise<void> {
    if (subStates.length > 0)
      throw new ChainError('TON channels have no sub-channels', { count: subStates.length });
    await this.#perun.conclude(this.#wallet, params, state);
  }

  async concludeFinal(params: Params, state: State, sigs: Hex[]): Promise<void> {
    await this.#perun.concludeFinal(this.#wallet, params, state, sigs);
  }

  /** Withdraws all of participant `idx`'s holding (nothing to do when it is empty). */
  async withdraw(params: Params, state: State, idx: number): Promise<WithdrawnAmount[]> {
    const me = params.participants[idx];
    if (me === undefined || me.ethAddress.toLowerCase() !== this.#signer.address.toLowerCase()) {
      throw new ChainError('this backend signs for another participant', {
        idx,
        signer: this.#signer.address,
      });
    }
    const amount = await this.#perun.holdings(fundingId(state.channelID, me.ethAddress));
    if (amount > 0n) {
      const auth = {
        channelID: state.channelID,
        participant: me.ethAddress,
        receiver: this.#receiver,
        amount,
      };
      await this.#perun.withdraw(this.#wallet, auth, this.#signer.signWithdrawal(auth));
    }
    return [{ asset: 0, amount }];
  }

  async dispute(channelID: Hex): Promise<OnChainDispute> {
    const d = await this.#perun.dispute(channelID);
    const stage = !d.registered ? 'none' : d.phase === PHASE_CONCLUDED ? 'concluded' : 'dispute';
    return { stage, version: d.version, timeout: d.timeout };
  }

  now(): Promise<bigint> {
    return this.#perun.chain.now();
  }
}

export interface TonFunderOptions {
  /** How long to wait for every deposit; default 60 s. */
  timeoutMs?: number;
  pollIntervalMs?: number;
}

export class TonFunder implements Funder {
  readonly #perun: PerunContract;
  readonly #wallet: TonWallet;
  readonly #timeoutMs: number;
  readonly #pollIntervalMs: number;

  constructor(perun: PerunContract, wallet: TonWallet, options: TonFunderOptions = {}) {
    this.#perun = perun;
    this.#wallet = wallet;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#pollIntervalMs = options.pollIntervalMs ?? 100;
  }

  /** Tops our holding up to our share, then waits until every participant's share is held. */
  async fund(req: FundingRequest, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    const agreement = req.agreement ?? req.state.outcome.balances;
    const me = req.params.participants[req.idx];
    if (me === undefined) throw new ChainError('participant index out of range', { idx: req.idx });
    const share = agreement[0]?.[req.idx] ?? 0n;
    const held = await this.#perun.holdings(fundingId(req.state.channelID, me.ethAddress));
    if (share > held)
      await this.#perun.deposit(this.#wallet, req.state.channelID, me.ethAddress, share - held);
    const deadline = Date.now() + (options.timeoutMs ?? this.#timeoutMs);
    for (;;) {
      const missing = await this.#missing(req, agreement);
      if (missing.length === 0) return;
      if (Date.now() >= deadline) {
        throw new FundingTimeoutError('the channel was not funded in time', {
          channelID: req.state.channelID,
          missing,
        });
      }
      await sleep(Math.min(this.#pollIntervalMs, Math.max(0, deadline - Date.now())), options.signal);
    }
  }

  async #missing(req: FundingRequest, agreement: bigint[][]) {
    const missing: Array<{ participant: number; asset: number; required: string; held: string }> = [];
    for (const [i, p] of req.params.participants.entries()) {
      const required = agreement[0]?.[i] ?? 0n;
      if (required === 0n) continue;
      const held = await this.#perun.holdings(fundingId(req.state.channelID, p.ethAddress));
      if (held < required)
        missing.push({ participant: i, asset: 0, required: String(required), held: String(held) });
    }
    return missing;
  }
}
