// The command line's argument checkers: amounts, dates, whole numbers and addresses as the API
// takes them (a usage error naming the argument otherwise), the agent settings given as flags, and
// channel, connection and proposal IDs given as unique prefixes.
import path from 'node:path';
import { parseAmount } from '../api/amounts.js';
import type { AgentConfigFile } from '../node/config.js';
import type { ChannelView, ConnectionView, ProposalView } from '../node/types.js';
import type { ApiClient } from './client.js';
import { CliError, EXIT, fromLocalError, usageError } from './output.js';

/** Commander's parsed options of a command. */
export type Opts = Record<string, unknown>;

/** The longest challenge duration the command line takes, seconds (ten years). */
export const MAX_SECONDS = 10 * 365 * 24 * 3600;

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

/** Commander's collector of a repeatable option. */
export const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** The amount text, trimmed, if parseAmount takes it; a usage error naming `what` otherwise. */
export function checkAmount(text: string, what: string): string {
  try {
    parseAmount(text);
  } catch (err) {
    const e = fromLocalError(err);
    throw usageError('INVALID_AMOUNT', `${what}: ${e.message} ("${text}")`, { [what]: text });
  }
  return text.trim();
}

/** An ISO 8601 date as the API takes it; a usage error naming `what` otherwise. */
export function isoDate(text: string, what: string): string {
  const t = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(t)) {
    throw usageError('INVALID_DATE', `${what}: expected an ISO 8601 date such as 2030-01-31T00:00:00Z`, {
      [what]: text,
    });
  }
  return new Date(t).toISOString();
}

export function checkInteger(text: string, what: string, min: number, max: number): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw usageError(
      'INVALID_ARGUMENT',
      `${what}: expected a whole number from ${min} to ${max} ("${text}")`,
      {
        [what]: text,
      },
    );
  }
  return n;
}

/**
 * The query of a list that shows only its newest `last` items (oldest first, as the whole list):
 * a newest-first page, turned back by the caller with `oldestFirst`.
 */
export function lastQuery(last: string | undefined): URLSearchParams {
  const q = new URLSearchParams();
  if (last === undefined) return q;
  q.set('limit', String(checkInteger(last, '--last', 1, 1_000)));
  q.set('reversed', 'true');
  return q;
}

/** A list fetched with `lastQuery`, oldest first again. */
export function oldestFirst<T>(list: T[], last: string | undefined): T[] {
  return last === undefined ? list : [...list].reverse();
}

export function checkAddress(text: string, what: string): string {
  if (!ADDRESS_RE.test(text)) {
    throw usageError('INVALID_ADDRESS', `${what}: expected an Ethereum address (0x and 40 hex digits)`, {
      [what]: text,
    });
  }
  return text;
}

/** The settings given as flags, checked, in AgentConfigFile's shape (absent flags are absent). */
export function configFlags(o: Opts, cwd: string): Partial<AgentConfigFile> {
  const f: Record<string, unknown> = {};
  const given = (k: string): k is string => typeof o[k] === 'string';
  const flag = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  for (const k of ['label', 'database', 'didcommHost', 'didcommEndpoint', 'didcommWsEndpoint', 'apiHost'])
    if (given(k)) f[k] = o[k];
  for (const k of ['didcommPort', 'didcommWsPort', 'apiPort'])
    if (given(k)) f[k] = checkInteger(o[k] as string, flag(k), 0, 65_535);
  for (const k of ['autoAcceptMaxFund', 'autoIssueSpendingLimit']) {
    if (given(k))
      f[k] = o[k] === '' && k === 'autoIssueSpendingLimit' ? '' : checkAmount(o[k] as string, flag(k));
  }
  if (given('challengeDuration'))
    f.challengeDuration = checkInteger(o.challengeDuration as string, 'challenge-duration', 1, MAX_SECONDS);
  if (given('proposalsPerMinute'))
    f.proposalsPerMinute = checkInteger(o.proposalsPerMinute as string, 'proposals-per-minute', 1, 1_000_000);
  if (given('reverifyAfter'))
    f.reverifyAfterSeconds = checkInteger(o.reverifyAfter as string, 'reverify-after', 0, MAX_SECONDS);
  for (const [k, max] of [
    ['didcommMaxMessageBytes', 2 ** 40],
    ['didcommMaxRequests', 1_000_000],
    ['didcommMaxInflightBytes', 2 ** 40],
    ['didcommMaxConnections', 1_000_000],
    ['didcommSourceRate', 1_000_000],
    ['didcommHeadersTimeout', MAX_SECONDS],
    ['didcommBodyTimeout', MAX_SECONDS],
    ['webhookMaxAttempts', 1_000_000],
    ['webhookTimeout', MAX_SECONDS],
    ['webhookMaxDelay', MAX_SECONDS],
    ['webhookMaxQueued', 1_000_000],
  ] as const)
    if (given(k)) f[k] = checkInteger(o[k] as string, flag(k), 1, max);
  if (given('chain')) f.chain = o.chain === 'embedded' ? o.chain : path.resolve(cwd, o.chain as string);
  if (Array.isArray(o.trustedIssuer)) f.trustedIssuers = o.trustedIssuer;
  if (Array.isArray(o.webhookUrl)) f.webhookUrls = o.webhookUrl;
  if (typeof o.autoAccept === 'boolean') f.autoAccept = o.autoAccept;
  if (o.intermediary === true) f.intermediary = true;
  if (o.mediator === true) f.mediator = true;
  if (typeof o.inbound === 'boolean') f.inbound = o.inbound;
  if (given('mediatorInvitation')) f.mediatorInvitation = o.mediatorInvitation;
  if (given('mediatorKeepDays'))
    f.mediatorKeepDays = checkInteger(o.mediatorKeepDays as string, 'mediator-keep-days', 1, 3650);
  if (given('mediatorPoll'))
    f.mediatorPollSeconds = checkInteger(o.mediatorPoll as string, 'mediator-poll', 1, MAX_SECONDS);
  return f as Partial<AgentConfigFile>;
}

/** The one ID in `list` that `arg` names exactly or as a unique prefix. */
export async function resolveId(
  kind: 'channel' | 'connection' | 'proposal',
  arg: string,
  list: () => Promise<{ id: string }[]>,
): Promise<string> {
  const norm = (s: string) => s.toLowerCase().replace(/^0x/, '');
  const wanted = norm(arg.trim());
  if (wanted === '') throw usageError('INVALID_ARGUMENT', `empty ${kind} ID`);
  const ids = (await list()).map((x) => x.id);
  const exact = ids.find((id) => norm(id) === wanted);
  if (exact !== undefined) return exact;
  const matches = ids.filter((id) => norm(id).startsWith(wanted));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    throw new CliError(EXIT.NOT_FOUND, 'client', `UNKNOWN_${kind.toUpperCase()}`, `no ${kind} "${arg}"`, {
      [kind]: arg,
    });
  }
  throw usageError(
    'AMBIGUOUS_ID',
    `"${arg}" matches ${matches.length} ${kind}s (${matches.join(', ')}); give more of the ID`,
    { [kind]: arg, matches },
  );
}

export const channelId = (api: ApiClient, arg: string) =>
  resolveId('channel', arg, () => api.request<ChannelView[]>('GET', '/channels'));
export const connectionId = (api: ApiClient, arg: string) =>
  resolveId('connection', arg, () => api.request<ConnectionView[]>('GET', '/connections'));
export const proposalId = (api: ApiClient, arg: string) =>
  resolveId('proposal', arg, () => api.request<ProposalView[]>('GET', '/proposals'));
