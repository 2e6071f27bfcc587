// What the lean path shares with the transports that carry it (src/agent/transport) and with the
// DIDComm wire it feeds: the reply channel of an inbound message, the outbound carrier, the
// messages it hands the wire, and the events it emits on the agent's event emitter.
import type { BaseEvent } from '@credo-ts/core';
import type { ChannelMessage, ChannelMessageType } from '../../../channels/messages.js';
import type { Envelope } from './envelope.js';
import type { PeerConnection } from '../peer-directory.js';
import type { LeanKeyAgreement } from './peers.js';

/** The channel messages the lean path carries; everything else goes through Credo's pipeline. */
export const LEAN_MESSAGE_TYPES: ReadonlySet<ChannelMessageType> = new Set<ChannelMessageType>([
  'channel-update',
  'channel-update-accept',
  'channel-update-reject',
  'channel-sync',
  'channel-sync-batch',
]);

/**
 * The opening messages the lean path also carries: a ledger channel's proposal and accept (its
 * refusal is a Perun problem report threaded on the proposal). Unlike the messages above, a
 * proposal's ID is durable in the replay guard before the wire sees it, and the lean path takes a
 * proposal only on a connection whose peer the wire has already resolved (a first proposal, which
 * runs the identity gate, goes through Credo's pipeline).
 */
export const LEAN_OPENING_TYPES: ReadonlySet<ChannelMessageType> = new Set<ChannelMessageType>([
  'ledger-channel-proposal',
  'ledger-channel-accept',
  'channel-proposal-reject',
]);

/** The transport an inbound message came on, for answers routed back on it (return route). */
export interface LeanReplyChannel {
  /** A WebSocket takes any number of messages; an HTTP response one. */
  readonly persistent: boolean;
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
  /** Resolves once the peer took the envelope (HTTP: its response began; WebSocket: written). */
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
