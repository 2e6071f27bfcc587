// Between the channel core's messages and the Perun DIDComm messages: `toPlaintext` /
// `toDidComm` give the DIDComm plaintext / message for a ChannelMessage, `fromPlaintext` /
// `fromDidComm` turn a received one back into a ChannelMessage through the core's strict decoder
// (MalformedMessageError on any bad value); the lean path (./lean/) reads and writes plaintexts,
// Credo's pipeline message classes. The last segment of each DIDComm @type is the core's message
// type.
import { randomUUID } from 'node:crypto';
import { JsonTransformer } from '@credo-ts/core';
import type { DidCommMessage } from '@credo-ts/didcomm';
import { MalformedMessageError } from '../../channels/errors.js';
import type { JsonObject } from '../../channels/json.js';
import { decodeChannelMessage, encodeChannelMessage } from '../../channels/message-codec.js';
import { type ChannelMessage, type ChannelMessageType } from '../../channels/messages.js';
import type { MessageClass as ProtocolMessageClass } from '../protocol-uris.js';
import { toCamel, toSnake } from './case.js';
import {
  ChannelProposalRejectMessage,
  ChannelSyncBatchMessage,
  ChannelSyncMessage,
  ChannelUpdateAcceptMessage,
  ChannelUpdateMessage,
  ChannelUpdateRejectMessage,
  LedgerChannelAcceptMessage,
  LedgerChannelProposalMessage,
  SubChannelAcceptMessage,
  SubChannelProposalMessage,
  VirtualChannelAcceptMessage,
  VirtualChannelProposalMessage,
  VirtualChannelUpdateMessage,
  type PerunChannelDidCommMessage,
} from './messages/channel-messages.js';

type MessageClass = ProtocolMessageClass<PerunChannelDidCommMessage>;

export const MESSAGE_CLASSES: Record<ChannelMessageType, MessageClass> = {
  'ledger-channel-proposal': LedgerChannelProposalMessage,
  'ledger-channel-accept': LedgerChannelAcceptMessage,
  'channel-proposal-reject': ChannelProposalRejectMessage,
  'sub-channel-proposal': SubChannelProposalMessage,
  'sub-channel-accept': SubChannelAcceptMessage,
  'virtual-channel-proposal': VirtualChannelProposalMessage,
  'virtual-channel-accept': VirtualChannelAcceptMessage,
  'virtual-channel-update': VirtualChannelUpdateMessage,
  'channel-update': ChannelUpdateMessage,
  'channel-update-accept': ChannelUpdateAcceptMessage,
  'channel-update-reject': ChannelUpdateRejectMessage,
  'channel-sync': ChannelSyncMessage,
  'channel-sync-batch': ChannelSyncBatchMessage,
};

/**
 * Perun @type URI → the channel message type it carries: the current URIs only, so the lean path
 * leaves a message under the old URI to Credo's pipeline, where the wire notes the peer's family.
 */
export const MESSAGE_TYPES: ReadonlyMap<string, ChannelMessageType> = new Map(
  Object.entries(MESSAGE_CLASSES).map(([name, cls]) => [cls.type.messageTypeUri, name as ChannelMessageType]),
);

/** The DIDComm plaintext carrying `msg`: @type, a fresh @id, its fields in snake_case. */
export function toPlaintext(msg: ChannelMessage): JsonObject {
  const { type: _type, ...body } = toSnake(encodeChannelMessage(msg));
  return { '@type': MESSAGE_CLASSES[msg.type].type.messageTypeUri, '@id': randomUUID(), ...body };
}

/** The DIDComm message carrying `msg` (a fresh @id; thread it with setThread before sending a reply). */
export function toDidComm(msg: ChannelMessage): PerunChannelDidCommMessage {
  return JsonTransformer.fromJSON(toPlaintext(msg), MESSAGE_CLASSES[msg.type]);
}

/**
 * The channel message of type `type` a DIDComm plaintext carries (its @ and ~ keys aside);
 * MalformedMessageError if any value is bad.
 */
export function fromPlaintext(type: ChannelMessageType, plaintext: JsonObject): ChannelMessage {
  let fields: JsonObject;
  try {
    const body: JsonObject = {};
    for (const [k, v] of Object.entries(plaintext)) {
      if (!k.startsWith('@') && !k.startsWith('~')) body[k] = v;
    }
    fields = toCamel(body);
  } catch (err) {
    if (err instanceof MalformedMessageError) throw err;
    // A value nested too deep to walk (RangeError) is still a malformed message.
    throw new MalformedMessageError('unreadable message', { type }, { cause: err });
  }
  return decodeChannelMessage({ ...fields, type });
}

/** The channel message a received Perun DIDComm message carries; MalformedMessageError if any value is bad. */
export function fromDidComm(m: DidCommMessage): ChannelMessage {
  const name = (Object.entries(MESSAGE_CLASSES) as [ChannelMessageType, MessageClass][]).find(
    ([, cls]) => m instanceof cls,
  )?.[0];
  if (name === undefined) throw new MalformedMessageError('not a Perun channel message', { type: m.type });
  let wire: JsonObject;
  try {
    wire = JsonTransformer.toJSON(m) as JsonObject;
  } catch (err) {
    throw new MalformedMessageError('unreadable message', { type: m.type }, { cause: err });
  }
  return fromPlaintext(name, wire);
}
