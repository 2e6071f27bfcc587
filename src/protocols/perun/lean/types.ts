// What the lean path shares with the transports that carry it (src/agent/transport) and with the
// DIDComm wire it feeds: the reply channel of an inbound message, the outbound carrier, the
// messages it hands the wire, and the events it emits on the agent's event emitter.
import type { BaseEvent } from '@credo-ts/core';
import type { ChannelMessage, ChannelMessageType } from '../../../channels/messages.js';
import type { Envelope } from './envelope.js';
import type { PeerConnection } from '../peer-directory.js';
import type { LeanKeyAgreement } from './peers.js';

/**
 * How the lean path and the replay guard treat each kind of Perun message:
 * - `lean: 'channel'`: a channel message the lean path carries; the channel machine's versions
 *   guard it against repeats, so the replay guard may write its ID behind;
 * - `lean: 'opening'`: a ledger channel's opening message the lean path also carries (a refusal
 *   is a Perun problem report threaded on the proposal). A proposal's ID is durable in the replay
 *   guard before the wire sees it, and the lean path takes one only on a connection whose peer the
 *   wire has already resolved (a first proposal, which runs the identity gate, goes through
 *   Credo's pipeline);
 * - `answersProposal`: it resolves only our proposal still waiting for it, by its random ID, so a
 *   repeat (also after a crash) finds nothing to resolve and its ID may be written behind.
 * Everything without `lean` goes through Credo's pipeline.
 */
export const MESSAGE_KINDS: Readonly<
  Record<ChannelMessageType, { lean?: 'channel' | 'opening'; answersProposal?: true }>
> = {
  'channel-update': { lean: 'channel' },
  'channel-update-accept': { lean: 'channel' },
  'channel-update-reject': { lean: 'channel' },
  'channel-sync': { lean: 'channel' },
  'channel-sync-batch': { lean: 'channel' },
  'ledger-channel-proposal': { lean: 'opening' },
  'ledger-channel-accept': { lean: 'opening', answersProposal: true },
  'channel-proposal-reject': { lean: 'opening', answersProposal: true },
  'sub-channel-proposal': {},
  'sub-channel-accept': { answersProposal: true },
  'virtual-channel-proposal': {},
  'virtual-channel-accept': { answersProposal: true },
  'virtual-channel-update': {},
};

const kindsWith = (has: (kind: (typeof MESSAGE_KINDS)[ChannelMessageType]) => boolean) =>
  new Set((Object.keys(MESSAGE_KINDS) as ChannelMessageType[]).filter((t) => has(MESSAGE_KINDS[t])));

/** The channel messages the lean path carries (MESSAGE_KINDS `lean: 'channel'`). */
export const LEAN_MESSAGE_TYPES: ReadonlySet<ChannelMessageType> = kindsWith((k) => k.lean === 'channel');

/** The opening messages the lean path also carries (MESSAGE_KINDS `lean: 'opening'`). */
export const LEAN_OPENING_TYPES: ReadonlySet<ChannelMessageType> = kindsWith((k) => k.lean === 'opening');

/** The answers to a channel proposal (MESSAGE_KINDS `answersProposal`). */
export const PROPOSAL_ANSWERS: ReadonlySet<ChannelMessageType> = kindsWith((k) => k.answersProposal === true);

/** The transport an inbound message came on, for answers routed back on it (return route). */
export interface LeanReplyChannel {
  /** A WebSocket takes any number of messages; an HTTP response one. */
  readonly persistent: boolean;
  /**
   * It carries only the answer to the message it came with (a message threaded on it): a socket
   * our carrier upgraded, whose sender is reached for anything else at its endpoint (its mediator).
   */
  readonly answersOnly?: boolean;
  readonly open: boolean;
  /**
   * The message asked for answers on this transport (`~transport.return_route: all`): keep it
   * for one (an HTTP response is acknowledged only after the message was handed to the wire).
   */
  hold(): void;
  /** Sends one envelope back; rejects if the transport is gone. */
  send(envelope: Envelope): Promise<void>;
}

/** Sends envelopes to a peer's endpoint over a persistent connection (src/agent/transport). */
export interface LeanCarrier {
  /** `onInbound` receives what comes back: an HTTP response body, a frame on our WebSocket. */
  start(onInbound: (envelope: Envelope, channel?: LeanReplyChannel) => void): void;
  /**
   * Resolves once the peer took the envelope (HTTP: its response began; a socket upgraded from an
   * HTTP endpoint: its ack; another WebSocket: written).
   */
  send(endpoint: string, envelope: Envelope): Promise<void>;
  close(): Promise<void>;
}

/** What an agent gives the Perun module to run the lean path. */
export interface LeanOptions {
  keys: LeanKeyAgreement;
  carrier: LeanCarrier;
}

/** A Perun message as the wire takes it from either path: a channel message or a refusal report. */
export type PerunInbound =
  | { id: string; threadId: string; message: ChannelMessage }
  | { id: string; threadId: string; report: { description: unknown; minVersion: unknown } };

/** The wire as the lean path feeds it (DidCommChannelWire). */
export interface LeanSink {
  /** What `threadId` is the @id of, when it is a proposal or an update of ours still waiting for its answer. */
  awaitsAnswer(threadId: string): 'proposal' | 'update' | undefined;
  /** Whether the wire names the peer of the connection `via` without a gate to run first. */
  knowsPeer(via: PeerConnection): boolean;
  /** Hands an authenticated inbound message on the connection `via` to the channel core, from its peer. */
  deliver(via: PeerConnection, inbound: PerunInbound): void;
  /** The connection changed or went away: drop what is kept for it. */
  forget(connectionId: string): void;
}

export type LeanOutcome = 'handled' | 'fallback';

export enum PerunLeanEventTypes {
  MessageProcessed = 'PerunLeanMessageProcessed',
  MessageSent = 'PerunLeanMessageSent',
}

/** The lean path took an inbound message and handed it to the wire. */
export interface PerunLeanMessageProcessedEvent extends BaseEvent {
  type: typeof PerunLeanEventTypes.MessageProcessed;
  payload: { connectionId: string; plaintext: Record<string, unknown>; encryptedMessage: Envelope };
}

/** The lean path packed a message for a peer (sent on a return route or to its endpoint). */
export interface PerunLeanMessageSentEvent extends BaseEvent {
  type: typeof PerunLeanEventTypes.MessageSent;
  payload: { connectionId: string; plaintext: Record<string, unknown> };
}
