// The off-chain side of an app channel (go-perun StateApp): the same rule the app's contract
// enforces in `validTransition` when a dispute is progressed on chain, run by the channel core
// before it signs any state of a channel whose Params.app is the app's address. A client knows the
// apps it is handed (ChannelClientOptions.apps) and refuses channels of any other app.
import type { Address, Params, State } from './types.js';

export interface App {
  /** The address of the app's contract on chain (Params.app of its channels). */
  readonly address: Address;
  /** A short name for logs and errors. */
  readonly name: string;
  /** Throws (a ValidationError, ideally with code APP_RULE) unless `state` may open a channel of this app. */
  validInit(params: Params, state: State): void;
  /**
   * Throws unless `to` may follow `from` when participant `actor` proposes it alone. The core has
   * already checked the channel ID, the version, the totals per asset and the locked funds: this
   * is the app's own rule, exactly as its contract's `validTransition` decides it.
   */
  validTransition(params: Params, from: State, to: State, actor: number): void;
}
