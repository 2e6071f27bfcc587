// What a channel with one asset on Ethereum and one on TON is, and how TON sees it. Such a
// channel's participants carry their Ethereum address in `ethAddress` and their TON Ed25519 key
// in `ccAddress`; its ID is the Ethereum one (keccak of the ABI params, which include both). The
// TON contract gets the projection: the same params with each participant in the TON backend's
// form (its key), hence the TON channel ID, and the state's version and finality with the TON
// asset's allocation only. Everything else (apps, sub- and virtual channels, more than two
// participants, more than one asset per chain, locked funds, equal chain IDs) is refused here.
import { channelId as ethChannelId, ETH_BACKEND_ID } from '../ethereum/encoding.js';
import { EncodingError } from '../errors.js';
import { channelId as tonChannelId, tonParticipant, TON_BACKEND_ID, ZERO_ADDRESS } from '../ton/encoding.js';
import type { Hex, Params, State } from '../types.js';

/** Hex digits of each part of a cross signature: ECDSA (65 bytes), then Ed25519 (64 bytes). */
const ETH_SIG_DIGITS = 130;
const TON_SIG_DIGITS = 128;
export const CROSS_SIG_BYTES = (ETH_SIG_DIGITS + TON_SIG_DIGITS) / 2;
const CROSS_SIG_RE = /^0x[0-9a-fA-F]{258}$/;
const KEY_RE = /^0x[0-9a-fA-F]{64}$/;

const refuse = (message: string, details: Record<string, unknown> = {}): never => {
  throw new EncodingError(message, { ...details, backend: 'ethereum+ton' });
};

/** Throws EncodingError unless `params` describe a two-party Ethereum–TON payment channel. */
export function checkCrossParams(params: Params): void {
  if (params.participants.length !== 2)
    refuse('an Ethereum–TON channel has exactly two participants', { numParts: params.participants.length });
  if (BigInt(params.app) !== 0n) refuse('an Ethereum–TON channel has no app', { app: params.app });
  if (!params.ledgerChannel || params.virtualChannel)
    refuse('an Ethereum–TON channel is a ledger channel, neither sub- nor virtual channel');
  params.participants.forEach((p, i) => {
    if (!KEY_RE.test(p.ccAddress) || BigInt(p.ccAddress) === 0n)
      refuse('an Ethereum–TON participant carries its TON Ed25519 key in ccAddress', {
        field: `participants[${i}].ccAddress`,
      });
  });
}

/**
 * Both channel IDs of a params object, computed once: a channel's params are never changed once
 * made (a different channel is a new object), and signing or checking each state needs both.
 */
const channelIds = new WeakMap<Params, { eth: Hex; ton: Hex }>();

function idsOf(params: Params): { eth: Hex; ton: Hex } {
  let ids = channelIds.get(params);
  if (ids === undefined) {
    ids = { eth: ethChannelId(params), ton: tonChannelId(tonParams(params)) };
    channelIds.set(params, ids);
  }
  return ids;
}

/** The channel ID of an Ethereum–TON channel: the Ethereum one. */
export function crossChannelId(params: Params): Hex {
  checkCrossParams(params);
  return idsOf(params).eth;
}

/** The channel ID the TON contract knows the channel by. */
export function crossTonChannelId(params: Params): Hex {
  checkCrossParams(params);
  return idsOf(params).ton;
}

/** Where a state's assets are: `eth` and `ton` asset indices. */
export interface CrossAssets {
  eth: number;
  ton: number;
}

/** Throws EncodingError unless `state` holds one Ethereum asset and one TON asset on different chains, nothing locked, no app data. */
export function crossAssets(state: State): CrossAssets {
  const o = state.outcome;
  const eth = o.backends.flatMap((b, i) => (b === ETH_BACKEND_ID ? [i] : []));
  const ton = o.backends.flatMap((b, i) => (b === TON_BACKEND_ID ? [i] : []));
  if (o.assets.length !== 2 || eth.length !== 1 || ton.length !== 1)
    refuse('an Ethereum–TON channel holds one asset on Ethereum and one on TON', {
      backends: o.backends.map(String),
    });
  const a = { eth: eth[0]!, ton: ton[0]! };
  if (o.assets[a.eth]!.chainID === o.assets[a.ton]!.chainID)
    refuse('the Ethereum chain ID and the TON network ID collide', {
      chainID: o.assets[a.eth]!.chainID.toString(),
    });
  if (BigInt(o.assets[a.ton]!.ethHolder) !== 0n || BigInt(o.assets[a.eth]!.ethHolder) === 0n)
    refuse('the Ethereum asset names its holder in ethHolder, the TON asset in ccHolder only');
  if (o.locked.length !== 0) refuse('an Ethereum–TON channel locks no funds in sub-channels');
  if (state.appData !== '0x') refuse('an Ethereum–TON channel carries no app data');
  return a;
}

/** The params the TON contract sees: each participant as its TON key. */
export function tonParams(params: Params): Params {
  checkCrossParams(params);
  return {
    ...params,
    app: ZERO_ADDRESS,
    participants: params.participants.map((p) => tonParticipant(p.ccAddress)),
  };
}

/** The state the TON contract sees: TON channel ID, version, finality, the TON asset's allocation. */
export function tonState(params: Params, state: State): State {
  const { ton } = crossAssets(state);
  const o = state.outcome;
  return {
    channelID: crossTonChannelId(params),
    version: state.version,
    outcome: {
      assets: [{ ...o.assets[ton]! }],
      backends: [TON_BACKEND_ID],
      balances: [[...o.balances[ton]!]],
      locked: [],
    },
    appData: '0x',
    isFinal: state.isFinal,
  };
}

/** The two parts of a cross signature; throws EncodingError unless it has exactly CROSS_SIG_BYTES. */
export function sigParts(sig: Hex): { eth: Hex; ton: Hex } {
  if (typeof sig !== 'string' || !CROSS_SIG_RE.test(sig))
    refuse(`an Ethereum–TON signature has ${CROSS_SIG_BYTES} bytes`, { length: (sig.length - 2) / 2 });
  return { eth: sig.slice(0, 2 + ETH_SIG_DIGITS), ton: `0x${sig.slice(2 + ETH_SIG_DIGITS)}` };
}

/** The cross signature of the two parts. */
export function joinSig(eth: Hex, ton: Hex): Hex {
  const sig = `${eth}${ton.slice(2)}`;
  sigParts(sig);
  return sig;
}
