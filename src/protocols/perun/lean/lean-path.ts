// The lean path of the Perun protocol, beside Credo's pipeline, for the channel and opening
// messages of MESSAGE_KINDS (./types.ts). They stay standard DIDComm v1 authcrypt envelopes of
// the perun protocol; only the work differs: keys resolved once per connection (./peers.ts),
// envelopes packed and opened at once (./envelope.ts), plaintexts decoded by the core's strict
// decoder, no class transformation or validation.
//
// Inbound (`receive`): an envelope is taken only if it is authcrypt to exactly one recipient,
// the (recipient key, sender key) pair is that of a cached completed connection, it opens, and
// its plaintext is a lean message in the plain form (known @type, @id, at most ~thread with a thid
// and ~transport, fields the decoder takes; a problem report only when it answers an update of
// ours). Anything else is 'fallback': the transport hands it to Credo unchanged, which checks and
// refuses or processes it as ever. A taken message goes to the wire as coming from the
// connection's peer (whom the wire's peer directory names); with a return route, its transport
// is kept for the answer. A message whose @id its connection already delivered (the agent's
// replay guard, ../../replay/, where the agent registers one) is dropped before that: no work, no
// answer, the transport acknowledges it.
// An update's or an answer's ID is written behind, not before delivery: the guard's file comment
// says why a lost one is harmless (the channel machine's versions; a proposal answered once), so a
// payment costs no durable write of its own here. A proposal (`lean: 'opening'`) is taken only
// where the agent has a replay guard and the wire already knows the connection's peer (no gate to
// run first: a first proposal goes to Credo's pipeline); its ID is durable before the wire sees
// it, as Credo's pipeline does it (../../replay/replay-module.ts). If that write fails, the
// proposal is not delivered (the proposer's wait ends in its timeout; nothing was stored).
//
// Outbound (`send`): packed for the peer's cached recipients, then on a return route the peer
// left open (one that carries answers only takes just a message threaded on the one it came
// with), else over the carrier to the peer's endpoint (WebSocket where both offer it, HTTP
// with keep-alive). What comes back over the carrier is received the same way; if it is not a lean
// message it goes to Credo's pipeline as Credo's own outbound transports hand it.
import { EventEmitter, type AgentContext } from '@credo-ts/core';
import {
  DidCommEventTypes,
  type DidCommConnectionRecord,
  type DidCommMessageReceivedEvent,
} from '@credo-ts/didcomm';
import type { JsonObject } from '../../../channels/json.js';
import { stage } from '../../../channels/stage-trace.js';
import { ReplayGuard } from '../../replay/replay-guard.js';
import { PerunProblemReportMessage } from '../messages/channel-messages.js';
import { MESSAGE_TYPES, fromPlaintext } from '../wire-format.js';
import { authcryptRecipients, openAuthcrypt, packAuthcrypt, type Envelope } from './envelope.js';
import { LeanPeers, type LeanPeer } from './peers.js';
import {
  LEAN_MESSAGE_TYPES,
  LEAN_OPENING_TYPES,
  PROPOSAL_ANSWERS,
  PerunLeanEventTypes,
  type LeanCarrier,
  type LeanOptions,
  type LeanOutcome,
  type LeanReplyChannel,
  type LeanSink,
  type PerunInbound,
  type PerunLeanMessageProcessedEvent,
  type PerunLeanMessageSentEvent,
} from './types.js';

/** Credo's message ID pattern (BaseDidCommMessage), anchored: the lean path takes the plain form only. */
const MESSAGE_ID = /^[-_./a-zA-Z0-9]{8,64}$/;
const PROBLEM_REPORT = PerunProblemReportMessage.type.messageTypeUri;
const RETURN_ROUTES = new Set(['all', 'none']);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const hasOnly = (o: Record<string, unknown>, keys: readonly string[]) =>
  Object.keys(o).every((k) => keys.includes(k));

/**
 * Whether a message type (URI) is one the channel machine's versions guard against repeats: the
 * lean messages and Perun problem reports, by either path. The replay guard may write their IDs
 * behind (src/protocols/replay/replay-guard.ts).
 */
export function versionGuarded(messageType: string): boolean {
  const name = MESSAGE_TYPES.get(messageType);
  return messageType === PROBLEM_REPORT || (name !== undefined && LEAN_MESSAGE_TYPES.has(name));
}

/**
 * Whether a repeat of a message of this type (URI) changes nothing, so that the replay guard may
 * write its ID behind (src/protocols/replay/replay-guard.ts): a version-guarded message, or the
 * answer to a proposal, which the first copy took out of the proposals waiting (a repeat, also
 * after a crash, finds none). The proposals themselves are not: their IDs are durable first.
 */
export function repeatChangesNothing(messageType: string): boolean {
  const name = MESSAGE_TYPES.get(messageType);
  return versionGuarded(messageType) || (name !== undefined && PROPOSAL_ANSWERS.has(name));
}

/** A plaintext's decorators when of the plain form: `~thread` {thid}, `~transport` {return_route}. */
function decorators(p: Record<string, unknown>): { threadId: string; returnRoute: boolean } | undefined {
  const id = p['@id'];
  if (typeof id !== 'string' || !MESSAGE_ID.test(id)) return undefined;
  let threadId = id;
  let returnRoute = false;
  for (const [k, v] of Object.entries(p)) {
    if (k === '@id' || k === '@type' || !(k.startsWith('@') || k.startsWith('~'))) continue;
    if (k === '~thread' && isObject(v) && hasOnly(v, ['thid'])) {
      if (v.thid === undefined) continue;
      if (typeof v.thid !== 'string' || !MESSAGE_ID.test(v.thid)) return undefined;
      threadId = v.thid;
    } else if (k === '~transport' && isObject(v) && hasOnly(v, ['return_route'])) {
      if (typeof v.return_route !== 'string' || !RETURN_ROUTES.has(v.return_route)) return undefined;
      returnRoute = v.return_route === 'all';
    } else return undefined;
  }
  return { threadId, returnRoute };
}

export class PerunLeanPath {
  readonly #peers: LeanPeers;
  readonly #carrier: LeanCarrier;
  /** Return routes peers left open, by connection ID, each with the thread of the message it came with. */
  readonly #channels = new Map<string, { channel: LeanReplyChannel; threadId: string }[]>();
  #sink: LeanSink | undefined;
  #agentContext: AgentContext | undefined;
  #events: EventEmitter | undefined;
  #replays: ReplayGuard | undefined;

  constructor(options: LeanOptions) {
    this.#carrier = options.carrier;
    this.#peers = new LeanPeers(options.keys, (connectionId) => {
      this.#channels.delete(connectionId);
      this.#sink?.forget(connectionId);
    });
  }

  /** Starts the path on the agent (PerunModule on initialize) feeding `sink`. */
  attach(agentContext: AgentContext, sink: LeanSink): void {
    this.#agentContext = agentContext;
    this.#events = agentContext.resolve(EventEmitter);
    this.#replays = agentContext.dependencyManager.isRegistered(ReplayGuard)
      ? agentContext.resolve(ReplayGuard)
      : undefined;
    this.#sink = sink;
    this.#peers.attach(agentContext);
    this.#carrier.start((envelope, channel) => {
      this.#fromCarrier(envelope, channel).catch(() => undefined);
    });
  }

  async close(): Promise<void> {
    this.#sink = undefined;
    this.#peers.detach();
    this.#channels.clear();
    await this.#carrier.close();
  }

  /** The connection carried a Perun message through Credo: resolve its peer for what follows. */
  learn(connection: DidCommConnectionRecord): void {
    if (this.#sink !== undefined && !this.#peers.known(connection.id))
      this.#peers.of(connection).catch(() => undefined);
  }

  /** The lean peer of `connection`, resolved once; undefined where it cannot take the lean path. */
  async peerOf(connection: DidCommConnectionRecord): Promise<LeanPeer | undefined> {
    if (this.#sink === undefined) return undefined;
    try {
      return await this.#peers.of(connection);
    } catch {
      return undefined;
    }
  }

  /** The envelope carrying `plaintext` to `peer`, as `send` packs it. */
  pack(peer: LeanPeer, plaintext: JsonObject): Envelope {
    return packAuthcrypt(JSON.stringify(plaintext), peer.recipients);
  }

  /** Sends `plaintext` to `peer`: on a return route it left open, else to its endpoint. */
  async send(peer: LeanPeer, plaintext: JsonObject): Promise<void> {
    stage('lean.send');
    // Over a WebSocket the peer answers on the same socket.
    const out =
      peer.scheme === 'ws' && plaintext['~transport'] === undefined
        ? { ...plaintext, '~transport': { return_route: 'all' } }
        : plaintext;
    const envelope = this.pack(peer, out);
    this.#emit<PerunLeanMessageSentEvent>({
      type: PerunLeanEventTypes.MessageSent,
      payload: { connectionId: peer.connectionId, plaintext: out },
    });
    const thread = plaintext['~thread'] as { thid?: unknown } | undefined;
    const channel = this.#takeChannel(peer.connectionId, thread?.thid);
    stage('lean.write');
    if (channel !== undefined) {
      try {
        await channel.send(envelope);
        return;
      } catch {
        // Gone meanwhile: the endpoint it is.
      }
    }
    await this.#carrier.send(peer.endpoint, envelope);
  }

  /** The peer and plaintext of an envelope the lean path takes (see the file comment), else undefined. */
  async open(
    envelope: Envelope,
  ): Promise<{ peer: LeanPeer; plaintext: Record<string, unknown> } | undefined> {
    const entries = authcryptRecipients(envelope);
    if (entries === undefined || entries.length !== 1) return undefined;
    const entry = entries[0]!;
    const keyId = this.#peers.ourKeyId(entry.kid);
    if (keyId === undefined) return undefined;
    const sender = await this.#peers.senderOf(keyId, entry.sender);
    if (sender === undefined) return undefined;
    const peer = this.#peers.byKeys(entry.kid, sender);
    const boxKey = peer?.boxKeys.get(sender);
    if (peer === undefined || boxKey === undefined) return undefined;
    const text = openAuthcrypt(envelope, entry, boxKey);
    if (text === undefined) return undefined;
    let plaintext: unknown;
    try {
      plaintext = JSON.parse(text.toString('utf8'));
    } catch {
      return undefined;
    }
    return isObject(plaintext) ? { peer, plaintext } : undefined;
  }

  /**
   * Takes an inbound envelope if it is a lean message on a cached connection and hands it to the
   * wire; 'fallback' for anything else, which then goes to Credo's pipeline unchanged. `channel`
   * is the transport it came on, kept for the answer when the message asks for a return route.
   */
  async receive(envelope: Envelope, channel?: LeanReplyChannel): Promise<LeanOutcome> {
    stage('lean.receive');
    const sink = this.#sink;
    if (sink === undefined) return 'fallback';
    try {
      const opened = await this.open(envelope);
      stage('lean.opened');
      if (opened === undefined || this.#sink !== sink) return 'fallback';
      const { peer, plaintext } = opened;
      const read = this.#read(plaintext, sink);
      if (read === undefined) return 'fallback';
      const via = { id: peer.connectionId, theirDid: peer.theirDid };
      const proposal = 'message' in read.inbound && read.inbound.message.type === 'ledger-channel-proposal';
      if (proposal && (this.#replays === undefined || !sink.knowsPeer(via))) return 'fallback';
      if (this.#replays?.admit(peer.connectionId, read.inbound.id) === false) {
        const dropped = {
          connectionId: peer.connectionId,
          messageId: read.inbound.id,
          reason: 'repeat',
        } as const;
        if (this.#agentContext !== undefined) this.#replays.dropped(this.#agentContext, dropped, envelope);
        return 'handled';
      }
      if (proposal) {
        try {
          await this.#replays!.flush();
        } catch {
          return 'handled';
        }
        if (this.#sink !== sink) return 'handled';
      }
      if (read.returnRoute && channel !== undefined)
        this.#keepChannel(peer.connectionId, channel, read.inbound.threadId);
      stage('lean.deliver');
      sink.deliver(via, read.inbound);
      this.#emit<PerunLeanMessageProcessedEvent>({
        type: PerunLeanEventTypes.MessageProcessed,
        payload: { connectionId: peer.connectionId, plaintext, encryptedMessage: envelope },
      });
      return 'handled';
    } catch {
      return 'fallback';
    }
  }

  /** A lean plaintext as the wire takes it, or undefined where Credo's pipeline must judge it. */
  #read(
    p: Record<string, unknown>,
    sink: LeanSink,
  ): { inbound: PerunInbound; returnRoute: boolean } | undefined {
    const d = decorators(p);
    const type = p['@type'];
    if (d === undefined || typeof type !== 'string') return undefined;
    const id = p['@id'] as string;
    if (type === PROBLEM_REPORT) {
      const { description, min_version: minVersion } = p;
      if (!hasOnly(p, ['@type', '@id', '~thread', '~transport', 'description', 'min_version']))
        return undefined;
      if (!isObject(description) || !hasOnly(description, ['en', 'code'])) return undefined;
      if (typeof description.en !== 'string' || typeof description.code !== 'string') return undefined;
      if (minVersion !== undefined && typeof minVersion !== 'string') return undefined;
      if (d.threadId === id || sink.awaitsAnswer(d.threadId) === undefined) return undefined;
      return {
        inbound: { id, threadId: d.threadId, report: { description, minVersion } },
        returnRoute: d.returnRoute,
      };
    }
    const name = MESSAGE_TYPES.get(type);
    if (
      name === undefined ||
      name === 'channel-update-reject' ||
      name === 'channel-proposal-reject' ||
      !(LEAN_MESSAGE_TYPES.has(name) || LEAN_OPENING_TYPES.has(name))
    )
      return undefined;
    try {
      return {
        inbound: { id, threadId: d.threadId, message: fromPlaintext(name, p as JsonObject) },
        returnRoute: d.returnRoute,
      };
    } catch {
      // Malformed: Credo's pipeline answers it with the 'malformed' problem report.
      return undefined;
    }
  }

  async #fromCarrier(envelope: Envelope, channel?: LeanReplyChannel): Promise<void> {
    if ((await this.receive(envelope, channel)) === 'handled') return;
    const agentContext = this.#agentContext;
    if (agentContext === undefined || this.#events === undefined) return;
    this.#events.emit<DidCommMessageReceivedEvent>(agentContext, {
      type: DidCommEventTypes.DidCommMessageReceived,
      payload: { message: envelope },
    });
  }

  #keepChannel(connectionId: string, channel: LeanReplyChannel, threadId: string): void {
    channel.hold();
    const open = (this.#channels.get(connectionId) ?? []).filter(
      (c) => c.channel.open && c.channel !== channel,
    );
    open.push({ channel, threadId });
    this.#channels.set(connectionId, open);
  }

  /** A return route for a message threaded on `thid`: the first open one that takes it. */
  #takeChannel(connectionId: string, thid: unknown): LeanReplyChannel | undefined {
    const list = this.#channels.get(connectionId);
    if (list === undefined) return undefined;
    const kept = list.filter((c) => c.channel.open);
    const i = kept.findIndex((c) => c.channel.answersOnly !== true || c.threadId === thid);
    const taken = i < 0 ? undefined : kept.splice(i, 1)[0]!;
    // A persistent route taken goes to the end, as the one used last.
    if (taken?.channel.persistent) kept.push(taken);
    if (kept.length === 0) this.#channels.delete(connectionId);
    else this.#channels.set(connectionId, kept);
    return taken?.channel;
  }

  #emit<E extends PerunLeanMessageProcessedEvent | PerunLeanMessageSentEvent>(
    event: Omit<E, 'metadata'>,
  ): void {
    if (this.#agentContext !== undefined) this.#events?.emit<E>(this.#agentContext, event as E);
  }
}
