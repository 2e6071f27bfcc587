// The channel core's Wire over Credo DIDComm. Who a peer is, is the peer directory's answer
// (./peer-directory.ts): by default the DID on the other end of an established connection; with
// the identity module, the peer's verified identity DID, whichever of its connections a message
// comes on. A channel message is accepted only as coming from the peer of the connection it
// arrived on (the core then refuses it unless that is the channel's peer); a channel proposal on
// a connection with no peer yet waits until the directory has resolved one (the identity gate),
// and later messages on that connection wait behind it.
// Replies are threaded on the message they answer (~thread); the core's refusals of proposals
// and updates travel as Perun problem reports with a code and become refusals again on the
// other side; a message whose values the core's decoder refuses is answered with a
// 'malformed' problem report and never reaches the core.
// Messages travel through Credo's pipeline or, for the channel updates, accepts, update refusals
// and syncs, and a ledger channel's proposal and its answer, of a connection the lean path
// (./lean/) has resolved, through that path; both build and read the same plaintexts here, so
// threading, the gate's wait and refusals are one logic for both.
// A peer whose last Perun message through Credo's pipeline came under the old URI
// (../protocol-uris.ts; the lean path leaves those to Credo) is answered and addressed under it.
// A peer that has not yet written under the new URI and refuses a message under it as an
// unsupported type (Credo's generic problem report) gets it again under the old URI, and is
// addressed so from then on: an agent that knows only the old URIs can be written to first.
import { randomUUID } from 'node:crypto';
import { JsonTransformer, type AgentContext } from '@credo-ts/core';
import {
  DidCommMessageSender,
  DidCommOutboundMessageContext,
  DidCommProblemReportError,
  type DidCommConnectionRecord,
  type DidCommProblemReportMessage,
  type DidCommInboundMessageContext,
  type DidCommMessage,
} from '@credo-ts/didcomm';
import { MalformedMessageError, PeerUnreachableError } from '../../channels/errors.js';
import type { MessageHandler, Wire } from '../../channels/interfaces.js';
import type { JsonObject } from '../../channels/json.js';
import type { ChannelMessage } from '../../channels/messages.js';
import type { PerunLeanPath } from './lean/lean-path.js';
import { LEAN_MESSAGE_TYPES, LEAN_OPENING_TYPES, type LeanSink, type PerunInbound } from './lean/types.js';
import { ConnectionDidDirectory, type PeerConnection, type PeerDirectory } from './peer-directory.js';
import { LEGACY_PERUN_MESSAGES, PerunProblemReportMessage } from './messages/channel-messages.js';
import { isLegacyUri, legacyClass, legacyUri, toLegacy, type MessageClass } from '../protocol-uris.js';
import { unsupportedMessageId } from '../generic-problem-reports.js';
import { MALFORMED, PROPOSAL_REJECTED, reportedRefusal, toProblemCode } from './problem-codes.js';
import { MESSAGE_CLASSES, fromDidComm, toPlaintext } from './wire-format.js';

/** What a message we sent asked, so a problem report threaded on it can be read back. */
type Sent = { kind: 'proposal'; proposalID: string } | { kind: 'update'; channelID: string; version: bigint };

const MAX_REMEMBERED = 4096;

/** A refusal's minimum-version hint, when it is a uint64 in decimal; a malformed hint is dropped. */
function minVersionHint(v: unknown): { minVersion?: bigint } {
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(v)) return {};
  const n = BigInt(v);
  return n < 1n << 64n ? { minVersion: n } : {};
}

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.set(key, value);
  if (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value!);
}

type Proposal = Extract<
  ChannelMessage,
  { type: 'ledger-channel-proposal' | 'sub-channel-proposal' | 'virtual-channel-proposal' }
>;
type Update = Extract<ChannelMessage, { type: 'channel-update' | 'virtual-channel-update' }>;
const isProposal = (m: ChannelMessage): m is Proposal =>
  m.type === 'ledger-channel-proposal' ||
  m.type === 'sub-channel-proposal' ||
  m.type === 'virtual-channel-proposal';
const isUpdate = (m: ChannelMessage): m is Update =>
  m.type === 'channel-update' || m.type === 'virtual-channel-update';
/** A positive answer to a proposal or an update: what we asked for is done. */
const isAccept = (m: ChannelMessage): boolean =>
  m.type === 'ledger-channel-accept' ||
  m.type === 'sub-channel-accept' ||
  m.type === 'virtual-channel-accept' ||
  m.type === 'channel-update-accept';

const replyKey = (msg: ChannelMessage): string | undefined => {
  switch (msg.type) {
    case 'ledger-channel-proposal':
    case 'ledger-channel-accept':
    case 'sub-channel-proposal':
    case 'sub-channel-accept':
    case 'virtual-channel-proposal':
    case 'virtual-channel-accept':
    case 'channel-proposal-reject':
      return `p:${msg.proposalID.toLowerCase()}`;
    case 'channel-update':
    case 'virtual-channel-update':
      return `u:${msg.state.channelID.toLowerCase()}:${msg.state.version}`;
    case 'channel-update-accept':
    case 'channel-update-reject':
      return `u:${msg.channelID.toLowerCase()}:${msg.version}`;
    case 'channel-sync':
    case 'channel-sync-batch':
      return undefined;
  }
};

export class DidCommChannelWire implements Wire, LeanSink {
  readonly id = 'didcomm';
  readonly #handlers = new Set<MessageHandler>();
  /** Reply key → @id of the message it answers. */
  readonly #threads = new Map<string, string>();
  /** @id of a proposal or update we sent → what it was. */
  readonly #sent = new Map<string, Sent>();
  /** Who is who (./peer-directory.ts). */
  #peers: PeerDirectory = new ConnectionDidDirectory();
  /** Per connection, the delivery in flight while a proposal on it waits for its peer to be resolved. */
  readonly #resolving = new Map<string, Promise<void>>();
  /** Peer ID → whether its last Perun message came under the old URI (or it refused the new one). */
  readonly #legacyPeers = new Map<string, boolean>();
  /** @id of a message sent under the new URI to a peer not known to take it → what to send again. */
  readonly #unconfirmed = new Map<string, { connectionId: string; peerId: string; msg: ChannelMessage }>();
  #agentContext: AgentContext | undefined;

  /** `lean`: the lean path for the channel messages it carries (none: Credo's pipeline for all). */
  constructor(readonly lean?: PerunLeanPath) {}

  /** Binds the wire to the agent it sends through (done by PerunModule on initialize). */
  attach(agentContext: AgentContext): void {
    this.#agentContext = agentContext;
    this.lean?.attach(agentContext, this);
  }

  /** Names peers through `directory` from now on (the identity module's, on initialize). */
  usePeers(directory: PeerDirectory): void {
    this.#peers = directory;
  }

  /** The peer ID of messages on `connection` (undefined until the directory has one). */
  peerOf(connection: PeerConnection): string | undefined {
    return this.#peers.peerOf(connection);
  }

  onMessage(handler: MessageHandler): () => void {
    this.#handlers.add(handler);
    return () => {
      this.#handlers.delete(handler);
    };
  }

  async idFor(peerId: string): Promise<string> {
    return this.#peers.ourIdFor(peerId, await this.#connection(peerId));
  }

  async send(peerId: string, msg: ChannelMessage): Promise<void> {
    const agentContext = this.#context();
    const connection = await this.#connection(peerId);
    const plaintext = this.#plaintext(msg);
    const known = this.#legacyPeers.get(peerId);
    const legacy = known === true;
    if (legacy) plaintext['@type'] = legacyUri(plaintext['@type'] as string);
    else if (known === undefined)
      remember(this.#unconfirmed, plaintext['@id'] as string, { connectionId: connection.id, peerId, msg });
    const peer =
      LEAN_MESSAGE_TYPES.has(msg.type) || LEAN_OPENING_TYPES.has(msg.type)
        ? await this.lean?.peerOf(connection)
        : undefined;
    const cls: MessageClass =
      msg.type === 'channel-update-reject' || msg.type === 'channel-proposal-reject'
        ? PerunProblemReportMessage
        : MESSAGE_CLASSES[msg.type];
    const out =
      peer === undefined
        ? JsonTransformer.fromJSON<DidCommMessage>(
            plaintext,
            legacy ? legacyClass(LEGACY_PERUN_MESSAGES, cls) : cls,
          )
        : undefined;
    try {
      if (out === undefined) await this.lean!.send(peer!, plaintext);
      else
        await agentContext
          .resolve(DidCommMessageSender)
          .sendMessage(new DidCommOutboundMessageContext(out, { agentContext, connection }));
    } catch (err) {
      throw new PeerUnreachableError(
        'the DIDComm message could not be sent',
        { peer: peerId },
        { cause: err },
      );
    }
  }

  /** Called by the Perun message handler for every inbound Perun message Credo's pipeline delivers. */
  async receive(ctx: DidCommInboundMessageContext): Promise<void> {
    const connection = ctx.assertReadyConnection();
    this.lean?.learn(connection);
    const m = ctx.message;
    const legacy = isLegacyUri(m.type);
    const via = { id: connection.id, theirDid: connection.theirDid! };
    if (m instanceof PerunProblemReportMessage) {
      this.#deliverVia(via, legacy, {
        id: m.id,
        threadId: m.threadId,
        report: { description: m.description, minVersion: m.minVersion },
      });
      return;
    }
    let msg: ChannelMessage;
    try {
      msg = fromDidComm(m);
    } catch (err) {
      if (!(err instanceof MalformedMessageError)) throw err;
      const report = new PerunProblemReportMessage({ description: { en: err.message, code: MALFORMED } });
      report.setThread({ threadId: m.threadId });
      const refusal = new DidCommProblemReportError(err.message, { problemCode: MALFORMED });
      refusal.problemReport = legacy
        ? toLegacy(report, legacyClass(LEGACY_PERUN_MESSAGES, PerunProblemReportMessage))
        : report;
      throw refusal;
    }
    const inbound = { id: m.id, threadId: m.threadId, message: msg };
    if (isProposal(msg) && this.#peers.peerOf(via) === undefined && !this.#resolving.has(via.id)) {
      const claim = msg.type === 'ledger-channel-proposal' ? msg.peers[0] : undefined;
      const resolved = this.#peers.resolve(this.#context(), connection, msg.proposalID, claim);
      const delivered = resolved
        .then((from) => this.#deliverFrom(from, legacy, inbound))
        .finally(() => this.#resolving.delete(via.id));
      this.#resolving.set(via.id, delivered);
      // The sender's request is answered now; the gate's exchanges with it run meanwhile.
      delivered.catch(() => undefined);
      return;
    }
    this.#deliverVia(via, legacy, inbound);
  }

  /** A Perun message on the connection `via`: from its peer, once any proposal before it on `via` is resolved. */
  #deliverVia(via: PeerConnection, legacy: boolean, inbound: PerunInbound): void {
    const waiting = this.#resolving.get(via.id);
    if (waiting === undefined) {
      this.#deliverFrom(this.#peers.peerOf(via) ?? via.theirDid, legacy, inbound);
      return;
    }
    const next = waiting
      .catch(() => undefined)
      .then(() => this.#deliverFrom(this.#peers.peerOf(via) ?? via.theirDid, legacy, inbound))
      .finally(() => {
        if (this.#resolving.get(via.id) === next) this.#resolving.delete(via.id);
      });
    this.#resolving.set(via.id, next);
  }

  #deliverFrom(from: string, legacy: boolean, inbound: PerunInbound): void {
    if (this.#legacyPeers.get(from) !== legacy) remember(this.#legacyPeers, from, legacy);
    this.#deliver(from, inbound);
  }

  /**
   * A generic problem report on `connection` (../generic-problem-reports.ts): if it refuses as
   * unsupported a message we sent under the new URI to a peer not known to take it, the peer is
   * addressed under the old URI from now on and the message goes again, under it.
   */
  unsupported(connection: DidCommConnectionRecord, report: DidCommProblemReportMessage): void {
    const id = unsupportedMessageId(report);
    const sent = id === undefined ? undefined : this.#unconfirmed.get(id);
    if (sent === undefined || sent.connectionId !== connection.id) return;
    this.#unconfirmed.delete(id!);
    if (this.#legacyPeers.get(sent.peerId) === false) return;
    remember(this.#legacyPeers, sent.peerId, true);
    this.send(sent.peerId, sent.msg).catch(() => undefined);
  }

  /** A Perun message the lean path read on the connection `via` (never under the old URI). */
  deliver(via: PeerConnection, inbound: PerunInbound): void {
    this.#deliverVia(via, false, inbound);
  }

  /** A Perun message from `from`, read by either path: threads noted, refusals mapped, the core told. */
  #deliver(from: string, inbound: PerunInbound): void {
    let msg: ChannelMessage;
    if ('report' in inbound) {
      const sent = inbound.threadId === inbound.id ? undefined : this.#sent.get(inbound.threadId);
      if (sent === undefined) return; // a report on nothing we asked: nothing to undo
      this.#sent.delete(inbound.threadId);
      const { reason, code } = reportedRefusal(inbound.report.description);
      msg =
        sent.kind === 'proposal'
          ? { type: 'channel-proposal-reject', proposalID: sent.proposalID, reason }
          : {
              type: 'channel-update-reject',
              channelID: sent.channelID,
              version: sent.version,
              reason,
              code,
              ...minVersionHint(inbound.report.minVersion),
            };
    } else {
      msg = inbound.message;
      if (isAccept(msg)) this.#sent.delete(inbound.threadId);
      const key = replyKey(msg);
      if (key !== undefined && (isProposal(msg) || isUpdate(msg))) {
        remember(this.#threads, key, inbound.id);
      }
    }
    // The core runs on its own: its per-channel order is fixed here, synchronously.
    for (const h of this.#handlers) void Promise.resolve(h(from, msg)).catch(() => undefined);
  }

  awaitsAnswer(threadId: string): 'proposal' | 'update' | undefined {
    return this.#sent.get(threadId)?.kind;
  }

  knowsPeer(via: PeerConnection): boolean {
    return this.#peers.peerOf(via) !== undefined;
  }

  forget(connectionId: string): void {
    this.#peers.forget?.(connectionId);
  }

  /**
   * The plaintext carrying `msg`: a refusal as a Perun problem report, an update with a return
   * route, a reply threaded on what it answers; what we asked is remembered for its answer.
   */
  #plaintext(msg: ChannelMessage): JsonObject {
    const key = replyKey(msg);
    const thread = key === undefined ? undefined : this.#threads.get(key);
    let out: JsonObject;
    if (msg.type === 'channel-update-reject' || msg.type === 'channel-proposal-reject') {
      out = {
        '@type': PerunProblemReportMessage.type.messageTypeUri,
        '@id': randomUUID(),
        description: {
          en: msg.reason,
          code: msg.type === 'channel-proposal-reject' ? PROPOSAL_REJECTED : toProblemCode(msg.code),
        },
        ...(msg.type === 'channel-update-reject' && msg.minVersion !== undefined
          ? { min_version: msg.minVersion.toString() }
          : {}),
      };
    } else {
      out = toPlaintext(msg);
      const id = out['@id'] as string;
      if (isProposal(msg)) {
        remember(this.#sent, id, { kind: 'proposal', proposalID: msg.proposalID });
      } else if (isUpdate(msg)) {
        remember(this.#sent, id, {
          kind: 'update',
          channelID: msg.state.channelID,
          version: msg.state.version,
        });
      }
    }
    if (thread !== undefined && !isUpdate(msg) && !isProposal(msg)) {
      out['~thread'] = { thid: thread };
      this.#threads.delete(key!);
    }
    // The answer can come back in the response to this request: one HTTP exchange a round trip.
    if (isUpdate(msg)) out['~transport'] = { return_route: 'all' };
    return out;
  }

  #context(): AgentContext {
    if (this.#agentContext === undefined)
      throw new PeerUnreachableError('the DIDComm wire is not attached to an agent');
    return this.#agentContext;
  }

  async #connection(peerId: string): Promise<DidCommConnectionRecord> {
    const found = await this.#peers.connectionFor(this.#context(), peerId);
    if (found === undefined)
      throw new PeerUnreachableError('no established DIDComm connection with this peer', { peer: peerId });
    return found;
  }
}
