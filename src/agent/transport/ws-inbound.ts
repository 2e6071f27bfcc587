// DIDComm v1 inbound transport over WebSocket (ws 8), on its own HTTP server. Its sockets and
// their frames are held as the HTTP endpoint's upgraded ones are (./ws-sessions.ts): to the Perun
// lean path first where the agent runs it, else to Credo's receive pipeline with the socket's
// session; return routes keep answers on the socket.
// Bounds (inbound-limits.ts): connections in total and per source when they open, and per frame
// those of ./ws-sessions.ts.
import { createServer, type Server } from 'node:http';
import { WebSocketServer } from 'ws';

import { serverTimeouts } from './http-admission.js';
import { sourceOf } from './inbound-limits.js';
import { InboundServerTransport, type InboundServer, type InboundServerOptions } from './inbound-server.js';
import { WsSessions } from './ws-sessions.js';

export { WS_SESSION_TYPE, WsTransportSession } from './ws-sessions.js';

/** The bounds (inbound-limits.ts) and the log of refusals are in InboundServerOptions. */
export interface WsInboundTransportOptions extends InboundServerOptions {
  /** Interface to bind. Default 127.0.0.1; pass '0.0.0.0' or '::' explicitly to listen on all interfaces. */
  host?: string;
  /** TCP port; 0 (the default) picks a free port, readable from `port` after start. */
  port?: number;
  /** Upgrade path. Default '/'. */
  path?: string;
  /** Largest accepted frame in bytes (1009 beyond); the same as maxMessageBytes, which it overrides. */
  maxPayloadBytes?: number;
  /** How long stop() waits for a close handshake before it terminates a socket. Default 1 s. */
  closeTimeoutMs?: number;
  /** URL announced to peers. Default `ws://host:port/path` from the bound address. */
  endpoint?: string;
  /** Add the endpoint to the agent's DIDComm endpoints on start (and remove it on stop). Default true. */
  announceEndpoint?: boolean;
}

export class WsInboundTransport extends InboundServerTransport {
  private wss?: WebSocketServer;
  private readonly sockets: WsSessions;

  public constructor(options: WsInboundTransportOptions = {}) {
    super('WebSocket', 'ws', {
      ...options,
      maxMessageBytes: options.maxPayloadBytes ?? options.maxMessageBytes,
    });
    this.sockets = new WsSessions(
      this.budget,
      this.report,
      () => this.sessionServices(),
      options.closeTimeoutMs ?? 1_000,
    );
  }

  /** Open sockets (for tests and diagnostics). */
  public get openSockets(): number {
    return this.sockets.size;
  }

  protected buildServer(): InboundServer {
    // Plain HTTP requests to this server get 426: it only speaks WebSocket.
    const server = createServer(serverTimeouts(this.budget), (_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
      res.end('WebSocket only');
    });
    const wss = new WebSocketServer({
      server,
      path: this.path,
      maxPayload: this.budget.limits.maxMessageBytes,
    });
    wss.on('connection', (socket, req) => this.sockets.accept(socket, sourceOf(req.socket.remoteAddress)));
    wss.on('error', (error) => this.logger?.error('WebSocket server error', { error: error.message }));
    return {
      server,
      bound: () => {
        this.wss = wss;
      },
    };
  }

  protected override async closeConnections(): Promise<void> {
    await this.sockets.closeAll();
  }

  protected override async closeServer(server: Server | undefined): Promise<void> {
    const wss = this.wss;
    this.wss = undefined;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
    await super.closeServer(server);
  }
}
