// The Perun protocol's wire field names: the channel core's JSON form (json.ts, camelCase) and
// the DIDComm wire form (snake_case, as Aries messages are written) map one to one through a
// fixed dictionary, applied to keys at every depth. Reading the wire is strict: a key that is not
// a field of some Perun message (a camelCase spelling, a typo, '__proto__') is refused.
import { MalformedMessageError } from '../../channels/errors.js';
import type { Json, JsonObject } from '../../channels/json.js';

const CAMEL_TO_SNAKE: Record<string, string> = {
  channelID: 'channel_id',
  proposalID: 'proposal_id',
  parentID: 'parent_id',
  challengeDuration: 'challenge_duration',
  nonceShare: 'nonce_share',
  initData: 'init_data',
  initBals: 'init_bals',
  fundingAgreement: 'funding_agreement',
  ccAddresses: 'cc_addresses',
  actorIdx: 'actor_idx',
  appData: 'app_data',
  isFinal: 'is_final',
  chainID: 'chain_id',
  ethHolder: 'eth_holder',
  ccHolder: 'cc_holder',
  ID: 'id',
  paymentID: 'payment_id',
  indexMap: 'index_map',
  minVersion: 'min_version',
  ethAddress: 'eth_address',
  ccAddress: 'cc_address',
  ledgerChannel: 'ledger_channel',
  virtualChannel: 'virtual_channel',
};

/** Field names that are the same on both sides. */
const PLAIN = [
  'type',
  'version',
  'outcome',
  'assets',
  'backends',
  'balances',
  'locked',
  'participants',
  'peers',
  'app',
  'sig',
  'sigs',
  'reason',
  'code',
  'phase',
  'state',
  'nonce',
  'intermediary',
  'virtual',
  'params',
  'payments',
  'payer',
  'asset',
  'amount',
  'channels',
  'synced',
];

const SNAKE_TO_CAMEL: Record<string, string> = Object.fromEntries([
  ...Object.entries(CAMEL_TO_SNAKE).map(([camel, snake]) => [snake, camel]),
  ...PLAIN.map((k) => [k, k]),
]);

function mapKeys(v: Json, names: Record<string, string>, strict: boolean, path: string): Json {
  if (Array.isArray(v)) return v.map((x, i) => mapKeys(x, names, strict, `${path}[${i}]`));
  if (v === null || typeof v !== 'object') return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (strict && !Object.hasOwn(names, k)) {
      throw new MalformedMessageError('unknown field', { path: `${path}.${k}` });
    }
    // defineProperty: a '__proto__' key from the wire stays a plain (refused) key.
    Object.defineProperty(out, Object.hasOwn(names, k) ? names[k]! : k, {
      value: mapKeys(x, names, strict, `${path}.${k}`),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** The channel core's JSON with its keys in the wire's snake_case. */
export const toSnake = (v: JsonObject): JsonObject => mapKeys(v, CAMEL_TO_SNAKE, false, '') as JsonObject;

/** Wire JSON with its keys back in the channel core's names; MalformedMessageError for an unknown key. */
export const toCamel = (v: JsonObject): JsonObject =>
  mapKeys(v, SNAKE_TO_CAMEL, true, 'message') as JsonObject;
