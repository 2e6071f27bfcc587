// What the CLI prints and how it ends: exit codes, the CLI's error type, the mapping from API
// errors (and local ones raised by init/start) to exit codes, plain-text tables and the
// one-line summaries of the agent's views and events.
import { PerunError } from '../../channels/errors.js';
import { toApiError } from '../api/api-error.js';
import type {
  AgentInfo,
  BalanceView,
  ChannelAssetView,
  ChannelView,
  ConnectionView,
  CredentialView,
  MessageView,
  NodeEventWithId,
  PeerClaimsView,
  PaymentView,
  ProposalView,
  SettlementView,
} from '../node/types.js';

export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  UNREACHABLE: 3,
  PEER: 4,
  CHAIN: 5,
  NOT_FOUND: 6,
  UNAUTHORIZED: 7,
  INTERRUPTED: 130,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0    ok
  1    internal or unknown error
  2    usage or invalid input (the agent's "client" errors)
  3    cannot reach the agent (or no API URL is configured)
  4    the peer refused, is unreachable or broke the protocol ("peer", "protocol")
  5    chain error ("chain")
  6    not found (unknown channel, connection, proposal or route)
  7    unauthorized (missing or wrong API token, a token without the scope, wrong passphrase)
  130  interrupted before the agent answered (the agent carries on)`;

/** Categories of the REST API plus the CLI's own `transport` (the agent did not answer). */
export type CliErrorCategory = 'client' | 'peer' | 'protocol' | 'chain' | 'internal' | 'transport';

export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    readonly category: CliErrorCategory,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CliError';
  }

  toJSON() {
    return { category: this.category, code: this.code, message: this.message, details: this.details };
  }
}

export const usageError = (code: string, message: string, details: Record<string, unknown> = {}) =>
  new CliError(EXIT.USAGE, 'client', code, message, details);

const CATEGORIES = new Set<string>(['client', 'peer', 'protocol', 'chain', 'internal']);

/** The exit code of an API error response. */
export function exitCodeFor(status: number, category: string | undefined): number {
  if (status === 401 || (status === 403 && category === 'client')) return EXIT.UNAUTHORIZED;
  if (status === 404) return EXIT.NOT_FOUND;
  switch (category) {
    case 'peer':
    case 'protocol':
      return EXIT.PEER;
    case 'chain':
      return EXIT.CHAIN;
    case 'client':
      return EXIT.USAGE;
    case 'internal':
      return EXIT.INTERNAL;
    case undefined:
    default:
      break;
  }
  return status >= 400 && status < 500 ? EXIT.USAGE : EXIT.INTERNAL;
}

/** A CliError from an API error response (`body` as received, possibly not an API error at all). */
export function fromApiResponse(status: number, body: unknown): CliError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const category =
    typeof b.category === 'string' && CATEGORIES.has(b.category)
      ? (b.category as CliErrorCategory)
      : status >= 500
        ? 'internal'
        : 'client';
  const code = typeof b.code === 'string' ? b.code : `HTTP_${status}`;
  const message = typeof b.message === 'string' ? b.message : `the agent answered HTTP ${status}`;
  const details =
    typeof b.details === 'object' && b.details !== null ? (b.details as Record<string, unknown>) : {};
  return new CliError(exitCodeFor(status, category), category, code, message, details);
}

/** AgentConfigError's codes: the data directory, its config or the passphrase needs fixing. */
const SETUP_CODES = new Set(['NOT_INITIALISED', 'ALREADY_INITIALISED', 'INVALID_CONFIG', 'NO_PASSPHRASE']);

/**
 * A CliError from anything thrown in this process (init, start, chain, argument checks): the
 * agent's own error taxonomy, with the real message also for internal faults (they are ours).
 */
export function fromLocalError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof PerunError && SETUP_CODES.has(err.code)) {
    return new CliError(EXIT.USAGE, 'client', err.code, err.message, err.details);
  }
  const { status, body } = toApiError(err);
  const internal = body.category === 'internal' && err instanceof Error;
  const message = internal ? err.message : body.message;
  const causes = internal ? causeMessages(err) : [];
  const details = causes.length > 0 ? { ...body.details, causes } : body.details;
  return new CliError(exitCodeFor(status, body.category), body.category, body.code, message, details);
}

/** The messages of `err`'s causes, outermost first (a fault in a library says what it met). */
function causeMessages(err: Error): string[] {
  const messages: string[] = [];
  const seen = new Set<unknown>([err]);
  for (let c: unknown = err.cause; c !== undefined && c !== null && !seen.has(c); c = (c as Error).cause) {
    seen.add(c);
    messages.push(c instanceof Error ? c.message : String(c));
    if (!(c instanceof Error)) break;
  }
  return messages;
}

/** Human form of an error: one line, then its details indented. */
export function formatError(err: CliError): string {
  const lines = [`error: ${err.message} (${err.category} ${err.code})`];
  for (const [k, v] of Object.entries(err.details)) {
    lines.push(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return lines.join('\n') + '\n';
}

export const json = (value: unknown) => JSON.stringify(value, null, 2) + '\n';

/** Columns padded to their widest cell, two spaces apart; undefined cells print as "-". */
export function table(headers: string[], rows: (string | number | boolean | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === undefined || c === '' ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/**
 * The shortest prefix length (at least `min`) that tells every ID in `ids` apart, git-style:
 * what tables show, and what the commands accept back.
 */
export function uniquePrefixLength(ids: string[], min: number): number {
  const sorted = [...new Set(ids.map((id) => id.toLowerCase()))].sort();
  let len = min;
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    let common = 0;
    while (common < a.length && a[common] === b[common]) common++;
    len = Math.max(len, common + 1);
  }
  return len;
}

const abbreviate = (ids: string[], min: number) => {
  const len = uniquePrefixLength(ids, min);
  return (id: string) => id.slice(0, len);
};

/** A block timestamp (Unix seconds) as ISO 8601; anything else as it is. */
const chainTime = (t: string) => (/^\d{1,12}$/.test(t) ? new Date(Number(t) * 1000).toISOString() : t);

const eth = (amount: string | undefined, unit = 'ETH') =>
  amount === undefined ? undefined : `${amount} ${unit}`;
/** A credential's address, and its spending limit in the coin of that address's backend. */
const claimAddress = (c: PeerClaimsView) => c.tonAddress ?? c.ethereumAddress;
const claimLimit = (c: PeerClaimsView) => eth(c.spendingLimit, c.backend === 'ton' ? 'TON' : 'ETH');
const shortDid = (did: string | undefined) =>
  did === undefined || did.length <= 32 ? did : `${did.slice(0, 31)}…`;
const peerName = (label: string | undefined, did: string | undefined) => label ?? shortDid(did) ?? 'peer';

/** `key  value` lines with the values aligned. */
export function pairs(rows: [string, string | number | undefined][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v ?? '-'}`).join('\n') + '\n';
}

export const infoLines = (i: AgentInfo) =>
  pairs([
    ['label', i.label],
    ['DID', i.did],
    ['issuer DID', i.issuerDid],
    ['address', i.address],
    ['DIDComm endpoint', i.didcommEndpoint],
    ...(i.backend === 'ton'
      ? ([
          ['backend', 'ton'],
          ['wallet', i.account],
        ] as [string, string | undefined][])
      : []),
    ['chain ID', i.chainId],
    ['adjudicator', i.adjudicator],
    ['asset holder ETH', i.assetHolderETH],
    ['trusted issuers', i.trustedIssuers.length === 0 ? 'none' : i.trustedIssuers.join(', ')],
    ['signer', i.signer === 'ed25519' ? 'ed25519' : `secp256k1 ${i.signer}`],
    ...mediationLines(i.mediation),
  ]);

/** The mediation role's lines of `info` and `start`; none without one. */
export function mediationLines(m: AgentInfo['mediation']): [string, string | number][] {
  if (m === undefined) return [];
  if (m.role === 'mediator')
    return [
      [
        'mediator',
        `serving ${m.recipients} recipients, ${m.queued} messages queued (kept ${m.keepDays} days)`,
      ],
      ['forwarded', `${m.forwarded} queued, ${m.delivered} delivered, ${m.refused} refused since start`],
      ['mediator invitation', m.invitationUrl],
    ];
  const pickup = m.pickup === 'live' ? 'live over WebSocket' : `polling every ${m.pollSeconds} s`;
  return [
    ['mediator', `${m.mediator || m.connectionId} at ${m.endpoint}`],
    ['pickup', `message pickup v2, ${pickup}${m.inbound ? '' : '; no inbound listener'}`],
  ];
}

export function connectionsTable(list: ConnectionView[]): string {
  if (list.length === 0) return 'no connections\n';
  const id = abbreviate(
    list.map((c) => c.id),
    8,
  );
  return table(
    ['ID', 'PEER', 'STATE', 'READY', 'CREATED'],
    list.map((c) => [id(c.id), c.theirLabel, c.state, c.ready ? 'yes' : 'no', c.createdAt]),
  );
}

export function credentialsTable(list: CredentialView[]): string {
  if (list.length === 0) return 'no credentials\n';
  const id = abbreviate(
    list.map((c) => c.id),
    8,
  );
  return table(
    ['ID', 'NAME', 'ADDRESS', 'SPENDING LIMIT', 'ISSUER', 'SUBJECT', 'EXPIRES'],
    list.map((c) => [
      id(c.id),
      c.claims.name,
      claimAddress(c.claims),
      claimLimit(c.claims),
      shortDid(c.issuer),
      shortDid(c.subject),
      c.expirationDate ?? 'never',
    ]),
  );
}

export function channelsTable(list: ChannelView[]): string {
  if (list.length === 0) return 'no channels\n';
  const id = abbreviate(
    list.map((c) => c.id),
    10,
  );
  return table(
    ['ID', 'PEER', 'STATUS', 'VERSION', 'OURS', 'THEIRS', 'ASSET'],
    list.map((c) => {
      const several = severalAssets(c);
      return [
        id(c.id),
        peerName(c.peerLabel, c.peerDid),
        phaseText(c),
        c.version,
        several === undefined ? c.ourBalance : holdings(several, 'ourBalance'),
        several === undefined ? c.theirBalance : holdings(several, 'theirBalance'),
        several === undefined ? c.asset : 'several',
      ];
    }),
  );
}

export function paymentsTable(list: PaymentView[]): string {
  if (list.length === 0) return 'no payments\n';
  const id = abbreviate(
    list.map((p) => p.channelId),
    10,
  );
  return table(
    ['AT', 'CHANNEL', 'VERSION', 'DIRECTION', 'AMOUNT', 'OURS', 'THEIRS'],
    list.map((p) => [p.at, id(p.channelId), p.version, p.direction, p.amount, p.ourBalance, p.theirBalance]),
  );
}

export function proposalsTable(list: ProposalView[]): string {
  if (list.length === 0) return 'no proposals\n';
  const id = abbreviate(
    list.map((p) => p.id),
    8,
  );
  return table(
    ['ID', 'PEER', 'NAME', 'ISSUER', 'PEER FUND', 'OUR FUND', 'CHALLENGE', 'STATUS', 'RECEIVED'],
    list.map((p) => [
      id(p.id),
      peerName(p.peerLabel, p.peerDid),
      p.claims.name,
      shortDid(p.claims.issuer),
      eth(p.peerFund, p.asset),
      eth(p.ourFund, p.asset),
      `${p.challengeDuration} s`,
      p.status,
      p.receivedAt,
    ]),
  );
}

export function messagesTable(list: MessageView[]): string {
  if (list.length === 0) return 'no messages\n';
  const id = abbreviate(
    list.map((m) => m.connectionId),
    8,
  );
  return table(
    ['SENT', 'CONNECTION', 'DIRECTION', 'CONTENT'],
    list.map((m) => [m.sentTime, id(m.connectionId), m.direction, m.content.replace(/\s*\n\s*/g, ' ⏎ ')]),
  );
}

export const balanceLines = (b: BalanceView) =>
  pairs([
    ['address', b.address],
    // A TON node names its wallet (`account`); its amounts are TON.
    ...(b.account === undefined ? [] : ([['wallet', b.account]] as [string, string][])),
    ['on chain', `${b.onChain} ${b.account === undefined ? 'ETH' : 'TON'}`],
    [
      'in channels',
      `${b.inChannels} ${b.account === undefined ? 'ETH' : 'TON'} (${b.channels} channel${b.channels === 1 ? '' : 's'} of any asset)`,
    ],
    ...(b.tokens ?? []).map((t): [string, string] => [
      t.asset,
      `${t.onChain} on chain, ${t.inChannels} in channels`,
    ]),
    ...(b.chains ?? []).map((c): [string, string] => [
      `chain ${c.chainId}`,
      [
        `${c.onChain} ETH on chain, ${c.inChannels} in channels`,
        ...c.tokens.map((t) => `${t.onChain} ${t.asset} on chain, ${t.inChannels} in channels`),
      ].join('; '),
    ]),
  ]);

/** A channel's assets when it holds several (a cross-chain channel), else undefined. */
const severalAssets = (c: ChannelView) =>
  c.assets !== undefined && c.assets.length > 1 ? c.assets : undefined;

/** One side's share of each asset: "1.5 ETH on 31337 + 20 PRN on 31338". */
const holdings = (assets: ChannelAssetView[], side: 'ourBalance' | 'theirBalance') =>
  assets.map((a) => `${a[side]} ${a.asset} on ${a.chainId}`).join(' + ');

export const credentialLine = (c: CredentialView) =>
  `credential ${c.id}: ${c.claims.name ?? '(no name)'}, address ${claimAddress(c.claims)}, ` +
  `spending limit ${claimLimit(c.claims) ?? 'none'}, issued by ${c.issuer} to ${shortDid(c.subject)}` +
  (c.expirationDate === undefined ? '' : `, expires ${c.expirationDate}`);

/** "open (Acting)": the plain word first, the machine's phase for those who know it. */
const phaseText = (c: ChannelView) => (c.status === undefined ? c.phase : `${c.status} (${c.phase})`);

export const channelLine = (c: ChannelView) =>
  `${c.virtual ? 'virtual channel' : c.parentId !== undefined ? 'sub-channel' : 'channel'} ${c.id} ` +
  `with ${peerName(c.peerLabel, c.peerDid)}: ${phaseText(c)}, version ${c.version}, ` +
  (severalAssets(c) === undefined
    ? `ours ${c.ourBalance} ${c.asset}, theirs ${c.theirBalance} ${c.asset}`
    : `ours ${holdings(c.assets!, 'ourBalance')}, theirs ${holdings(c.assets!, 'theirBalance')}`) +
  (c.parentId === undefined ? '' : `, funded by ${c.parentId}`) +
  (c.locked === undefined || c.locked === '0' ? '' : `, ${c.locked} ${c.asset} locked in sub-channels`) +
  (c.synced === false ? ', not synced with the peer yet' : '');

export const paymentLine = (p: PaymentView) =>
  `${p.direction === 'sent' ? 'paid' : 'received'} ${p.amount} ${p.asset ?? 'ETH'} in channel ${p.channelId} ` +
  `(version ${p.version}): ours ${p.ourBalance} ${p.asset ?? 'ETH'}, theirs ${p.theirBalance} ${p.asset ?? 'ETH'}`;

/** A withdrawn amount; with its chain where the settlement paid out on several. */
const withdrawal = (s: SettlementView, w: SettlementView['withdrawn'][number]) =>
  `${w.amount} ${w.asset}` +
  (new Set(s.withdrawn.map((x) => x.chainId)).size > 1 ? ` on chain ${w.chainId}` : '') +
  ` to ${w.receiver}`;

export const settlementLine = (s: SettlementView) =>
  s.alreadySettled
    ? `channel ${s.channelId} was already settled; nothing was withdrawn now` +
      (s.withdrawn.length === 0
        ? ''
        : ` (the settlement paid ${s.withdrawn.map((w) => withdrawal(s, w)).join(', ')})`)
    : `channel ${s.channelId} settled: ` +
      (s.withdrawn.length === 0
        ? 'nothing to withdraw'
        : s.withdrawn.map((w) => `withdrew ${withdrawal(s, w)}`).join(', '));

export const proposalLine = (p: ProposalView) =>
  `proposal ${p.id} from ${peerName(p.peerLabel, p.peerDid)} (${p.claims.name ?? 'no name'}, ` +
  `${claimAddress(p.claims)}): they fund ${p.peerFund} ${p.asset}, we fund ${p.ourFund} ${p.asset}, ` +
  `challenge ${p.challengeDuration} s: ${p.status}`;

export const connectionLine = (c: ConnectionView) =>
  `connection ${c.id} with ${c.theirLabel ?? shortDid(c.theirDid) ?? 'peer'}: ${c.state}${c.ready ? ', ready' : ''}`;

export const messageLine = (m: MessageView) =>
  `message ${m.direction} ${m.direction === 'sent' ? 'on' : 'from'} connection ${m.connectionId}: ${m.content}`;

/** What an event says, in one line. */
export function eventText(e: NodeEventWithId): string {
  switch (e.type) {
    case 'connection':
      return connectionLine(e.connection);
    case 'message-received':
    case 'message-sent':
      return messageLine(e.message);
    case 'credential-received':
      return `received ${credentialLine(e.credential)}`;
    case 'proposal':
      return proposalLine(e.proposal);
    case 'channel-opened':
      return `opened ${channelLine(e.channel)}`;
    case 'channel-phase':
      return `channel ${e.channelId}: ${e.from} → ${e.to}`;
    case 'payment-sent':
    case 'payment-received':
      return paymentLine(e.payment);
    case 'dispute':
      return `dispute on channel ${e.channelId}: version ${e.version} registered by ${e.by}, challenge ends ${chainTime(e.timeout)}`;
    case 'settled':
      return settlementLine(e.settlement);
    case 'credential-sale': {
      const s = e.sale;
      const channel = s.channelId === undefined ? '' : ` on channel ${s.channelId}`;
      return `credential sale ${s.id} (${s.role}, ${s.price} ETH) with connection ${s.connectionId}: ${s.status}${channel}${s.reason === undefined ? '' : `: ${s.reason}`}`;
    }
    case 'warning':
      return `warning${e.channelId === undefined ? '' : ` (channel ${e.channelId})`}: ${e.context}: ${e.message}`;
  }
}

/** One line per event for `perun-agent events`. */
export const eventLine = (e: NodeEventWithId) => `${e.at}  ${eventText(e)}`;
