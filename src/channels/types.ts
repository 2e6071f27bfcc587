// The channel data model shared by every layer: Params, State, Allocation (assets, balances per
// asset per participant, locked sub-allocations). Chain encodings live in the backend folders
// (ethereum/encoding.ts); this file holds only the shapes.

export type Hex = string;
export type Address = string;

export interface Participant {
  /**
   * The participant's address on the channel's backend (Perun's generation-C field name): a
   * 20-byte Ethereum address, or a 32-byte Ed25519 public key on TON.
   */
  ethAddress: Address;
  /** Address on another backend; 32 zero bytes for an Ethereum-only participant. */
  ccAddress: Hex;
}

export interface Params {
  challengeDuration: bigint;
  nonce: bigint;
  participants: Participant[];
  /** App contract, or the zero address for a payment channel. */
  app: Address;
  ledgerChannel: boolean;
  virtualChannel: boolean;
}

export interface Asset {
  chainID: bigint;
  ethHolder: Address;
  /** Holder on another backend; 32 zero bytes for an Ethereum asset. */
  ccHolder: Hex;
}

export interface SubAlloc {
  ID: Hex;
  /** The sub-channel's total per asset. */
  balances: bigint[];
  /** Sub-channel participant i is parent participant indexMap[i]; empty = identity. */
  indexMap: number[];
}

export interface Allocation {
  assets: Asset[];
  /** Backend ID per asset (1 = Ethereum). */
  backends: bigint[];
  /** balances[asset][participant]. */
  balances: bigint[][];
  locked: SubAlloc[];
}

export interface State {
  channelID: Hex;
  version: bigint;
  outcome: Allocation;
  appData: Hex;
  isFinal: boolean;
}

export interface WithdrawalAuth {
  channelID: Hex;
  participant: Participant;
  receiver: Address;
  amount: bigint;
}

/**
 * A payment an update makes: its proposer pays `amount` (base units) of asset `asset` (the index
 * in the allocation) to the other participant. `id` names the payment in both participants'
 * histories; an update may carry several (a batch).
 */
export interface PaymentRecord {
  id: string;
  asset: number;
  amount: bigint;
}

/** A payment of an earlier update, as a sync tells it: the version it was signed at and who paid. */
export interface VersionedPayment extends PaymentRecord {
  version: bigint;
  payer: number;
}

/** A payment ID: 1 to 64 characters of [A-Za-z0-9._:-]. */
export const PAYMENT_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The phases of a channel, as go-perun's machine names them (the machine owns the transitions). */
export const PHASES = [
  'InitActing',
  'InitSigning',
  'Funding',
  'Acting',
  'Signing',
  'Final',
  'Registering',
  'Registered',
  'Progressing',
  'Progressed',
  'Withdrawing',
  'Withdrawn',
] as const;

export type Phase = (typeof PHASES)[number];

export const isPhase = (v: unknown): v is Phase =>
  typeof v === 'string' && (PHASES as readonly string[]).includes(v);
