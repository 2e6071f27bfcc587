// Request input of the REST API: every JSON body and query string is declared once as a field
// table (here; ./openapi.ts turns the same tables into the request schemas) and checked strictly
// against it: unknown fields refused, types checked, amounts parsed exactly (exact strings: no
// whitespace) and passed on in canonical form ("1.50" -> "1.5"), addresses checksummed. A refusal is a 400 INVALID_REQUEST
// naming the field.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { PAYMENT_ID } from '../../channels/types.js';

import { formatAmount, parseAmount } from './amounts.js';
import { ApiRequestError } from './api-error.js';

interface FieldBase {
  required: boolean;
  description: string;
}

export type FieldSpec = FieldBase &
  (
    | { type: 'string'; maxLength: number; format?: 'uri' | 'date-time'; pattern?: RegExp }
    /** A decimal amount in ETH ("1.5"). */
    | { type: 'amount'; positive?: boolean }
    | { type: 'integer'; minimum: number; maximum: number }
    /** An Ethereum address, passed on checksummed. */
    | { type: 'address' }
    /** `true` or `false` (in a query string: the words). */
    | { type: 'boolean' }
    /** A list of objects, each checked against `items` (in a body only). */
    | { type: 'list'; items: Fields; minItems: number; maxItems: number }
  );

export type Fields = Readonly<Record<string, FieldSpec>>;

type ValueOf<F extends FieldSpec> = F extends { type: 'integer' }
  ? number
  : F extends { type: 'boolean' }
    ? boolean
    : F extends { type: 'list'; items: infer I extends Fields }
      ? Checked<I>[]
      : string;
type RequiredKeys<S extends Fields> = { [K in keyof S]: S[K]['required'] extends true ? K : never }[keyof S];
type OptionalKeys<S extends Fields> = Exclude<keyof S, RequiredKeys<S>>;

/** The value a field table describes, once checked. */
export type Checked<S extends Fields> = { [K in RequiredKeys<S>]: ValueOf<S[K]> } & {
  [K in OptionalKeys<S>]?: ValueOf<S[K]>;
};

const ID_MAX = 200;
const id = (description: string) =>
  ({ type: 'string', required: true, maxLength: ID_MAX, description }) as const;

export const NO_FIELDS = {} as const satisfies Fields;

export const ACCEPT_INVITATION = {
  invitationUrl: {
    type: 'string',
    required: true,
    maxLength: 20_000,
    format: 'uri',
    description: 'The invitation in URL form (`?oob=`), as `POST /invitations` returns it.',
  },
} as const satisfies Fields;

const dateField = (description: string) =>
  ({ type: 'string', required: false, maxLength: 40, format: 'date-time', description }) as const;

export const ISSUE_CREDENTIAL = {
  connectionId: id('The connection with the holder.'),
  name: { type: 'string', required: true, maxLength: 200, description: "The holder's name claim." },
  spendingLimit: { type: 'amount', required: true, description: 'ETH the holder may put into a channel.' },
  ethereumAddress: {
    type: 'address',
    required: false,
    description: 'Default: the address the holder proves control of when asked (EIP-191 address proof).',
  },
  expirationDate: dateField('ISO 8601; default: no expiry.'),
} as const satisfies Fields;

export const SIGN_CREDENTIAL = {
  subject: { type: 'string', required: true, maxLength: 4096, description: "The holder's DID." },
  name: { type: 'string', required: true, maxLength: 200, description: "The holder's name claim." },
  spendingLimit: { type: 'amount', required: true, description: 'ETH the holder may put into a channel.' },
  ethereumAddress: { type: 'address', required: true, description: 'The address that signs its states.' },
  issuanceDate: dateField('ISO 8601; default now.'),
  expirationDate: dateField('ISO 8601; default: no expiry.'),
} as const satisfies Fields;

export const IMPORT_CREDENTIAL = {
  credential: {
    type: 'string',
    required: true,
    maxLength: 65_536,
    description: 'The signed peer credential as JSON text.',
  },
} as const satisfies Fields;

export const REQUEST_CREDENTIAL = {
  connectionId: id('The connection with the issuer.'),
  name: { type: 'string', required: true, maxLength: 200, description: 'The name we claim.' },
} as const satisfies Fields;

export const OFFER_CREDENTIAL = {
  connectionId: id('The connection with the holder.'),
  claims: {
    type: 'string',
    required: true,
    maxLength: 16_384,
    description: "The claims about the holder, a JSON object as text (the subject id is the holder's DID).",
  },
  price: { type: 'amount', required: true, positive: true, description: 'What the holder pays (ETH).' },
} as const satisfies Fields;

/** One asset of a channel on several assets or chains. */
export const CHANNEL_ASSET = {
  chainId: {
    type: 'string',
    required: true,
    maxLength: 20,
    pattern: /^[1-9]\d*$/,
    description: "The asset's chain ID (decimal), one of the agent's chain file.",
  },
  asset: {
    type: 'string',
    required: true,
    maxLength: 64,
    description: '"ETH", a token symbol or a token address of that chain.',
  },
  fund: { type: 'amount', required: true, description: "What we put in, in the asset's units." },
  peerFund: { type: 'amount', required: false, description: 'What the peer puts in; default "0".' },
} as const satisfies Fields;

/** The most assets a channel opened over the API holds. */
export const CHANNEL_ASSETS_MAX = 16;

export const OPEN_CHANNEL = {
  connectionId: id('The connection with the peer.'),
  fund: { type: 'amount', required: false, description: 'What we put in (ETH); required unless `assets`.' },
  peerFund: { type: 'amount', required: false, description: 'What the peer puts in (ETH); default "0".' },
  asset: {
    type: 'string',
    required: false,
    maxLength: 64,
    description: '"ETH" (default), a token symbol or a token address of the chain file.',
  },
  challengeDuration: {
    type: 'integer',
    required: false,
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
    description: 'Seconds; default from the config.',
  },
  assets: {
    type: 'list',
    required: false,
    items: CHANNEL_ASSET,
    minItems: 1,
    maxItems: CHANNEL_ASSETS_MAX,
    description:
      'A channel of several assets, each on its chain (a cross-chain channel); instead of fund, peerFund and asset.',
  },
} as const satisfies Fields;

export const OPEN_VIRTUAL_CHANNEL = {
  connectionId: id('The connection with the other participant.'),
  via: id('Our ledger channel with the intermediary.'),
  fund: { type: 'amount', required: true, description: 'What we put in (ETH).' },
  peerFund: { type: 'amount', required: false, description: 'What the peer puts in (ETH); default "0".' },
} as const satisfies Fields;

export const OPEN_SUB_CHANNEL = {
  fund: { type: 'amount', required: true, description: 'What we move from the parent into it (ETH).' },
  peerFund: {
    type: 'amount',
    required: false,
    description: 'What the peer moves from the parent into it (ETH); default "0".',
  },
} as const satisfies Fields;

export const PAY = {
  amount: { type: 'amount', required: true, positive: true, description: 'What we pay (ETH), more than 0.' },
  id: {
    type: 'string',
    required: false,
    maxLength: 64,
    pattern: PAYMENT_ID,
    description: 'Names the payment in both histories; default a fresh UUID.',
  },
  asset: {
    type: 'string',
    required: false,
    maxLength: 64,
    description:
      "Of a channel with several assets, the one paid in: 'ETH', a token symbol or address; default the channel's first.",
  },
  chainId: {
    type: 'string',
    required: false,
    maxLength: 20,
    pattern: /^[1-9]\d*$/,
    description: "The paid asset's chain, where the channel holds that asset on several chains.",
  },
} as const satisfies Fields;

export const REJECT_PROPOSAL = {
  reason: { type: 'string', required: false, maxLength: 500, description: 'Told to the peer.' },
} as const satisfies Fields;

export const SEND_MESSAGE = {
  connectionId: id('The connection to send on.'),
  content: { type: 'string', required: true, maxLength: 10_000, description: 'The text.' },
} as const satisfies Fields;

/** The most items a list answers at once. */
export const PAGE_MAX = 1_000;

/** Paging of a list: oldest first unless `reversed`; `offset` items skipped, then at most `limit`. */
export const PAGE_QUERY = {
  limit: {
    type: 'integer',
    required: false,
    minimum: 1,
    maximum: PAGE_MAX,
    description: `At most this many items; default: all (payments: the newest 10,000).`,
  },
  offset: {
    type: 'integer',
    required: false,
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    description: 'Skip this many items first (in the order asked for); default 0.',
  },
  reversed: {
    type: 'boolean',
    required: false,
    description: 'The list in reverse order (newest first where it is oldest first); default false.',
  },
} as const satisfies Fields;

export const PAYMENTS_QUERY = {
  channelId: { type: 'string', required: false, maxLength: ID_MAX, description: 'Only this channel.' },
  ...PAGE_QUERY,
} as const satisfies Fields;

export const MESSAGES_QUERY = {
  connectionId: { type: 'string', required: false, maxLength: ID_MAX, description: 'Only this connection.' },
  ...PAGE_QUERY,
} as const satisfies Fields;

export const EVENTS_QUERY = {
  token: {
    type: 'string',
    required: false,
    maxLength: 1_000,
    description: 'The API token, for clients that cannot set headers (EventSource).',
  },
} as const satisfies Fields;

/** RFC 3339 date-time, the form `Date.prototype.toISOString` writes. */
const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

export function invalid(
  field: string,
  message: string,
  details: Record<string, unknown> = {},
): ApiRequestError {
  return new ApiRequestError(400, 'INVALID_REQUEST', `${field}: ${message}`, { field, ...details });
}

type Value = string | number | boolean | Record<string, unknown>[];

function checkField(name: string, spec: FieldSpec, value: unknown): Value {
  switch (spec.type) {
    case 'list': {
      if (!Array.isArray(value)) throw invalid(name, 'expected a list', { expected: 'array' });
      if (value.length < spec.minItems || value.length > spec.maxItems) {
        throw invalid(name, `expected ${spec.minItems} to ${spec.maxItems} items`, {
          minItems: spec.minItems,
          maxItems: spec.maxItems,
        });
      }
      return value.map((item: unknown, i) => {
        if (typeof item !== 'object' || item === null || Array.isArray(item))
          throw invalid(`${name}[${i}]`, 'expected an object', { expected: 'object' });
        return checkFields(spec.items, item as Record<string, unknown>, `${name}[${i}].`);
      });
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(name, 'expected true or false', { expected: 'boolean' });
      return value;
    case 'string': {
      if (typeof value !== 'string') throw invalid(name, 'expected a string', { expected: 'string' });
      if (value.length === 0) throw invalid(name, 'must not be empty');
      if (value.length > spec.maxLength) {
        throw invalid(name, `at most ${spec.maxLength} characters`, { maxLength: spec.maxLength });
      }
      if (spec.pattern !== undefined && !spec.pattern.test(value)) {
        throw invalid(name, `expected ${spec.pattern.source}`, { pattern: spec.pattern.source });
      }
      if (spec.format === 'uri' && !URL.canParse(value)) throw invalid(name, 'expected a URL');
      if (spec.format === 'date-time' && (!DATE_TIME_RE.test(value) || Number.isNaN(Date.parse(value)))) {
        throw invalid(name, 'expected an ISO 8601 date-time', { expected: 'date-time' });
      }
      return value;
    }
    case 'amount': {
      if (typeof value !== 'string') {
        throw invalid(name, 'expected a decimal string in ETH, such as "1.5"', { expected: 'amount' });
      }
      if (/\s/.test(value)) throw invalid(name, 'an amount has no whitespace', { expected: 'amount' });
      let units: bigint;
      try {
        units = parseAmount(value);
      } catch (err) {
        if (err instanceof ApiRequestError) throw invalid(name, err.message, err.details);
        throw err;
      }
      if (spec.positive === true && units === 0n) throw invalid(name, 'must be more than 0');
      return formatAmount(units);
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw invalid(name, 'expected an integer', { expected: 'integer' });
      }
      if (value < spec.minimum || value > spec.maximum) {
        throw invalid(name, `expected ${spec.minimum} to ${spec.maximum}`, {
          minimum: spec.minimum,
          maximum: spec.maximum,
        });
      }
      return value;
    case 'address': {
      const address = typeof value === 'string' ? checksummed(value) : undefined;
      if (address === undefined) {
        throw invalid(name, 'expected an Ethereum address (0x and 40 hex digits, valid checksum)', {
          expected: 'address',
        });
      }
      return address;
    }
  }
}

/**
 * `value` as an EIP-55 checksummed address, or undefined if it is not one: 40 hex digits (0x
 * optional), in one letter case or in its checksum's. As ethers' getAddress, without loading ethers
 * (this module serves the starting view too).
 */
export function checksummed(value: string): string | undefined {
  const m = /^(0x)?([0-9a-fA-F]{40})$/.exec(value);
  if (m === null) return undefined;
  const hex = m[2]!.toLowerCase();
  const hash = keccak_256(new TextEncoder().encode(hex));
  let out = '0x';
  for (let i = 0; i < 40; i++) {
    const nibble = (hash[i >> 1]! >> (i % 2 === 0 ? 4 : 0)) & 0xf;
    out += nibble >= 8 ? hex[i]!.toUpperCase() : hex[i]!;
  }
  const mixed = /[a-f]/.test(m[2]!) && /[A-F]/.test(m[2]!);
  return mixed && out !== `0x${m[2]}` ? undefined : out;
}

function checkFields<S extends Fields>(
  fields: S,
  input: Record<string, unknown>,
  prefix: string,
): Checked<S> {
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(fields, key)) throw invalid(`${prefix}${key}`, 'unknown field');
  }
  const out: Record<string, Value> = {};
  for (const [key, spec] of Object.entries(fields)) {
    const value = Object.hasOwn(input, key) ? input[key] : undefined;
    if (value === undefined) {
      if (spec.required) throw invalid(`${prefix}${key}`, 'required');
      continue;
    }
    out[key] = checkField(`${prefix}${key}`, spec, value);
  }
  return out as Checked<S>;
}

/**
 * A JSON request body checked against `fields`. A missing body counts as `{}`; anything but a
 * JSON object is refused.
 */
export function checkBody<S extends Fields>(fields: S, body: unknown): Checked<S> {
  if (body === undefined) return checkFields(fields, {}, '');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('(body)', 'expected a JSON object', { expected: 'object' });
  }
  return checkFields(fields, body as Record<string, unknown>, '');
}

/** A parsed query string checked against `fields`; a repeated parameter is refused. */
export function checkQuery<S extends Fields>(fields: S, query: Record<string, unknown>): Checked<S> {
  const typed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query)) {
    if (!Object.hasOwn(fields, key)) {
      typed[key] = value;
      continue;
    }
    if (typeof value !== 'string')
      throw invalid(`query.${key}`, 'expected one value', { expected: 'string' });
    typed[key] = fromQueryText(fields[key]!, value);
  }
  return checkFields(fields, typed, 'query.');
}

/** A query string's text as the value its field takes: integers in decimal, booleans as words. */
function fromQueryText(spec: FieldSpec, text: string): unknown {
  if (spec.type === 'integer' && /^\d{1,16}$/.test(text)) return Number(text);
  if (spec.type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

/** An `Idempotency-Key`: 1 to 255 printable ASCII characters (as Stripe takes them). */
export const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

/**
 * The `Idempotency-Key` header of a request to a route that takes one (`idempotent`); a 400
 * naming the header if it is malformed, or sent to a route that would not honour it.
 */
export function checkIdempotencyKey(header: string | undefined, idempotent: boolean): string | undefined {
  if (header === undefined) return undefined;
  if (!idempotent) throw invalid('Idempotency-Key', 'this route does not take an Idempotency-Key');
  if (!IDEMPOTENCY_KEY.test(header)) {
    throw invalid('Idempotency-Key', 'expected 1 to 255 printable ASCII characters', {
      pattern: IDEMPOTENCY_KEY.source,
    });
  }
  return header;
}

/** The `Last-Event-ID` header: the ID of the last event the client saw, a non-negative integer. */
export function checkLastEventId(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const text = header.trim();
  const n = Number(text);
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(n)) {
    throw invalid('Last-Event-ID', 'expected an event ID (a non-negative integer)', { expected: 'integer' });
  }
  return n;
}
