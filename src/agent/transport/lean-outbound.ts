// The carrier of the Perun protocol's lean path (src/protocols/perun/lean): envelopes to a
// peer's endpoint over persistent connections. HTTP(S) POSTs go on the agent's kept-alive sockets
// (./keep-alive-agents.ts, shared with Credo's outbound; not the global fetch); a 2xx answer is a delivery (one that carries a message,
// the return route, hands it back to the lean path), any other status a LeanDeliveryError.
// WebSocket endpoints get one socket each, kept open; whatever the peer sends on it comes back the
// same way, with the socket as its return route. With `upgrade`, an HTTP(S) endpoint is asked
// once for a WebSocket upgrade on its URL (our HTTP inbound takes one, ./http-inbound.ts), and its
// messages then go as frames on that socket, each counted sent only once the endpoint acknowledged
// it as a POST's status would (./frame-acks.ts; a socket that closes fails every send not yet
// acknowledged, as a reset POST fails); an endpoint that answers the upgrade otherwise (any other
// DIDComm agent), takes it without acknowledgements, or leaves it unanswered for `upgradeTimeoutMs`,
// is posted to from then on, as is each message while no socket opens.
import http from 'node:http';
import https from 'node:https';
import { DidCommMimeType } from '@credo-ts/didcomm';
import { WebSocket, type RawData } from 'ws';
import type { Envelope, LeanCarrier, LeanReplyChannel } from '../../protocols/perun/lean/index.js';
import { DEFAULT_MAX_MESSAGE_BYTES, parseEnvelope } from './common.js';
import { AckedSends, FRAME_ACKS_PROTOCOL, ackStatus } from './frame-acks.js';
import { closeKeepAliveAgents, keepAliveAgents, type KeepAliveAgents } from './keep-alive-agents.js';
import { socketReply } from './lean-reply.js';

/** How long a request may take, its held response included (as Credo's HTTP outbound). */
const REQUEST_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 1_000;
const UPGRADE_TIMEOUT_MS = 5_000;

type OnInbound = (envelope: Envelope, channel?: LeanReplyChannel) => void;

function readEnvelope(data: Buffer): Envelope | undefined {
  try {
    return parseEnvelope(data);
  } catch {
    return undefined;
  }
}

function sendFrame(socket: WebSocket, envelope: Envelope): Promise<void> {
  if (socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error('the WebSocket is not open'));
  return new Promise((resolve, reject) =>
    socket.send(JSON.stringify(envelope), (error) => (error ? reject(error) : resolve())),
  );
}

function frameBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/** The peer's endpoint answered a lean envelope with a status other than 2xx: not delivered. */
export class LeanDeliveryError extends Error {
  constructor(
    readonly endpoint: string,
    readonly status: number,
  ) {
    super(`the peer's endpoint answered HTTP ${status}: the message was not delivered`);
    this.name = 'LeanDeliveryError';
  }
}

export class LeanOutboundTransport implements LeanCarrier {
  readonly #sockets = new Map<string, Promise<WebSocket>>();
  /** HTTP(S) endpoints that answered an upgrade with something else: posted to. */
  readonly #postOnly = new Set<string>();
  /** Upgraded sockets whose frames are acknowledged (./frame-acks.ts): their sends waiting. */
  readonly #acks = new WeakMap<WebSocket, AckedSends>();
  #onInbound: OnInbound | undefined;

  readonly #agents: KeepAliveAgents;
  readonly #upgrade: boolean;
  readonly #upgradeTimeoutMs: number;

  /**
   * `agents`: the kept-alive sockets to post on (closed with the carrier); default a pool of its
   * own. `upgrade`: ask HTTP(S) endpoints for a WebSocket (default false: post), answered within
   * `upgradeTimeoutMs` (default 5 s).
   */
  constructor(
    agents: KeepAliveAgents = keepAliveAgents(),
    options: { upgrade?: boolean; upgradeTimeoutMs?: number } = {},
  ) {
    this.#agents = agents;
    this.#upgrade = options.upgrade === true;
    this.#upgradeTimeoutMs = options.upgradeTimeoutMs ?? UPGRADE_TIMEOUT_MS;
  }

  start(onInbound: OnInbound): void {
    this.#onInbound = onInbound;
  }

  async send(endpoint: string, envelope: Envelope): Promise<void> {
    if (this.#onInbound === undefined) throw new Error('the lean carrier is not started');
    if (/^wss?:/i.test(endpoint)) {
      await this.#write(await this.#socket(endpoint), envelope);
      return;
    }
    const upgraded = await this.#upgraded(endpoint);
    if (upgraded !== undefined) {
      await this.#write(upgraded, envelope);
      return;
    }
    await this.#post(endpoint, JSON.stringify(envelope));
  }

  /** A frame on `socket`: sent once its ack came where the socket carries acks, else once written. */
  #write(socket: WebSocket, envelope: Envelope): Promise<void> {
    const acks = this.#acks.get(socket);
    return acks === undefined ? sendFrame(socket, envelope) : acks.send(JSON.stringify(envelope));
  }

  /** The open WebSocket upgraded from an HTTP(S) endpoint, opening it if need be; undefined: post. */
  async #upgraded(endpoint: string): Promise<WebSocket | undefined> {
    if (!this.#upgrade || this.#postOnly.has(endpoint)) return undefined;
    try {
      const socket = await this.#socket(endpoint.replace(/^http/i, 'ws'), endpoint);
      return socket.readyState === WebSocket.OPEN ? socket : undefined;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.#onInbound = undefined;
    closeKeepAliveAgents(this.#agents);
    const sockets = await Promise.all([...this.#sockets.values()].map((s) => s.catch(() => undefined)));
    this.#sockets.clear();
    await Promise.all(sockets.map((s) => (s === undefined ? undefined : closeSocket(s))));
  }

  #post(endpoint: string, body: string): Promise<void> {
    const url = new URL(endpoint);
    const secure = url.protocol === 'https:';
    return new Promise<void>((resolve, reject) => {
      const request = (secure ? https : http).request(
        url,
        {
          method: 'POST',
          agent: this.#agents[secure ? 'https:' : 'http:'],
          headers: { 'content-type': DidCommMimeType.V1, 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          const status = response.statusCode ?? 0;
          if (status < 200 || status > 299) {
            // Not taken (refused, too large, not running, ...): the message was not delivered.
            response.resume();
            reject(new LeanDeliveryError(endpoint, status));
            return;
          }
          resolve();
          if (status !== 200) {
            response.resume();
            return;
          }
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', () => undefined);
          response.on('end', () => {
            const reply = chunks.length === 0 ? undefined : readEnvelope(Buffer.concat(chunks));
            if (reply !== undefined) this.#onInbound?.(reply);
          });
        },
      );
      request.setTimeout(REQUEST_TIMEOUT_MS, () => request.destroy(new Error('the request timed out')));
      // Never sent twice (at most once, as a channel message must be); idle sockets are closed
      // before the server's keep-alive timeout would close them under a new request.
      request.on('error', reject);
      request.end(body);
    });
  }

  /** `upgradeOf`: the HTTP(S) endpoint `endpoint` upgrades, marked post-only if it answers otherwise or not in time. */
  async #socket(endpoint: string, upgradeOf?: string): Promise<WebSocket> {
    const existing = this.#sockets.get(endpoint);
    if (existing !== undefined) {
      const socket = await existing.catch(() => undefined);
      if (socket?.readyState === WebSocket.OPEN) return socket;
      if (this.#sockets.get(endpoint) === existing) this.#sockets.delete(endpoint);
    }
    const opening = new Promise<WebSocket>((resolve, reject) => {
      // An upgrade asks for acknowledged frames; an endpoint that takes it without them is posted to.
      const socket =
        upgradeOf === undefined
          ? new WebSocket(endpoint, { maxPayload: DEFAULT_MAX_MESSAGE_BYTES })
          : new WebSocket(endpoint, [FRAME_ACKS_PROTOCOL], {
              maxPayload: DEFAULT_MAX_MESSAGE_BYTES,
              handshakeTimeout: this.#upgradeTimeoutMs,
            });
      const channel = socketReply(
        () => socket.readyState === WebSocket.OPEN,
        (envelope) => this.#write(socket, envelope),
      );
      socket.once('open', () => {
        if (upgradeOf !== undefined) {
          if (socket.protocol !== FRAME_ACKS_PROTOCOL) {
            this.#postOnly.add(upgradeOf);
            socket.terminate();
            reject(new Error('the endpoint took the upgrade without acknowledgements'));
            return;
          }
          this.#acks.set(
            socket,
            new AckedSends(socket, REQUEST_TIMEOUT_MS, (status) => new LeanDeliveryError(upgradeOf, status)),
          );
        }
        resolve(socket);
      });
      socket.once('error', (error) => {
        // No answer to the upgrade in time, or one without acknowledgements: not an endpoint to upgrade.
        if (upgradeOf !== undefined && /handshake has timed out|subprotocol/.test(error.message))
          this.#postOnly.add(upgradeOf);
        reject(error);
      });
      socket.once('unexpected-response', (_request, response) => {
        if (upgradeOf !== undefined) this.#postOnly.add(upgradeOf);
        response.resume();
        socket.terminate();
      });
      socket.on('error', () => undefined);
      socket.on('message', (data, isBinary) => {
        const acks = isBinary ? this.#acks.get(socket) : undefined;
        if (acks !== undefined) {
          const status = ackStatus(frameBytes(data));
          if (status === undefined) socket.terminate();
          else acks.acked(status);
          return;
        }
        const envelope = readEnvelope(frameBytes(data));
        if (envelope !== undefined) this.#onInbound?.(envelope, channel);
      });
      socket.once('close', () => {
        if (this.#sockets.get(endpoint) === opening) this.#sockets.delete(endpoint);
      });
    });
    this.#sockets.set(endpoint, opening);
    return opening;
  }
}

function closeSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.terminate(), CLOSE_TIMEOUT_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.close();
  });
}
