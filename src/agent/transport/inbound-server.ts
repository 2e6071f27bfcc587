// The lifecycle both inbound transports share: on start, resolve the agent's services (the Perun
// lean path too, where the agent runs it), have Credo's receiver report outcomes, bind a node http
// server with its connections counted against the transport's budget, and announce its endpoint;
// on stop, withdraw the endpoint and close the server. A transport supplies the server it listens
// with and closes what it holds open besides. The budget (inbound-limits.ts) and the log of
// refused messages (inbound-log.ts) are the transport's own.
import { type AgentContext, CredoError, EventEmitter, type Logger } from '@credo-ts/core';
import { DidCommTransportService, type DidCommInboundTransport } from '@credo-ts/didcomm';
import type { Server } from 'node:http';
import { PerunLeanPath } from '../../protocols/perun/lean/index.js';

import {
  DEFAULT_HOST,
  announceEndpoint,
  closeServer,
  formatEndpoint,
  listen,
  normalisePath,
  withdrawEndpoint,
} from './common.js';
import { guardConnections } from './http-admission.js';
import { InboundBudget, inboundLimits, type InboundLimitOptions } from './inbound-limits.js';
import { InboundLog, type InboundEvent } from './inbound-log.js';
import { reportReceiveOutcomes } from './receive-outcome.js';
import type { WsSessionServices } from './ws-sessions.js';

/** The options every inbound transport takes; see the transports' own option types. */
export interface InboundServerOptions extends InboundLimitOptions {
  host?: string;
  port?: number;
  path?: string;
  endpoint?: string;
  announceEndpoint?: boolean;
  /** Where refused and failed messages are logged; default the agent's logger (warn). */
  log?: (line: string) => void;
  /** Lines of that log per window (default 5) and the window (default 1 s); more are counted. */
  logLinesPerWindow?: number;
  logWindowMs?: number;
}

/** A server ready to listen, and what the transport does once it is bound. */
export interface InboundServer {
  server: Server;
  bound?: () => void;
}

export abstract class InboundServerTransport implements DidCommInboundTransport {
  public readonly host: string;
  public readonly path: string;
  private readonly requestedPort: number;
  private readonly configuredEndpoint?: string;
  private readonly shouldAnnounce: boolean;

  protected server?: Server;
  private boundPort?: number;
  protected agentContext?: AgentContext;
  protected logger?: Logger;
  protected eventEmitter?: EventEmitter;
  protected transportService?: DidCommTransportService;
  /** The lean path inbound messages try first (its fallback is Credo's pipeline); absent if not run. */
  protected leanPath?: PerunLeanPath;
  private announced?: string;
  /** What the transport holds and each source may ask of it. */
  protected readonly budget: InboundBudget;
  private readonly inboundLog: InboundLog;

  /** `label` names the transport in errors and logs; `scheme` is its endpoint's URL scheme. */
  protected constructor(
    private readonly label: string,
    private readonly scheme: string,
    options: InboundServerOptions,
  ) {
    this.host = options.host ?? DEFAULT_HOST;
    this.requestedPort = options.port ?? 0;
    this.path = normalisePath(options.path);
    this.configuredEndpoint = options.endpoint;
    this.shouldAnnounce = options.announceEndpoint ?? true;
    this.budget = new InboundBudget(inboundLimits(options));
    const log = options.log;
    this.inboundLog = new InboundLog({
      log: log ?? ((line) => this.logger?.warn(line)),
      linesPerWindow: options.logLinesPerWindow,
      windowMs: options.logWindowMs,
    });
  }

  /** Logs a refused or failed message (rate-limited; never its body). */
  protected readonly report = (event: Omit<InboundEvent, 'transport'>): void =>
    this.inboundLog.record({ ...event, transport: this.label });

  /** Writes what the refusal log suppressed so far, now rather than at the end of its window. */
  public flushLog(): void {
    this.inboundLog.flush();
  }

  /** Requests and bytes held, connections open, sources tracked (for tests and diagnostics). */
  public get usage() {
    return this.budget.usage;
  }

  /** What WebSocket sessions (./ws-sessions.ts) run with, once started; `running` while bound. */
  protected sessionServices(): WsSessionServices | undefined {
    const { agentContext, eventEmitter } = this;
    if (agentContext === undefined || eventEmitter === undefined) return undefined;
    return {
      running: this.server !== undefined,
      agentContext,
      eventEmitter,
      transportService: this.transportService,
      leanPath: this.leanPath,
      logger: this.logger,
    };
  }

  /** Builds the server to bind; called on start, once the agent's services are resolved. */
  protected abstract buildServer(): InboundServer;

  /** Ends what the transport holds open besides the server; called on stop, after the withdrawal. */
  protected closeConnections?(): Promise<void>;

  /** The bound port; only defined while started. */
  public get port(): number | undefined {
    return this.boundPort;
  }

  /** The node http server; only defined while started. */
  public get httpServer(): Server | undefined {
    return this.server;
  }

  /** The URL peers should reach this transport at; only defined while started. */
  public get endpoint(): string | undefined {
    if (this.configuredEndpoint) return this.configuredEndpoint;
    return this.boundPort === undefined
      ? undefined
      : formatEndpoint(this.scheme, this.host, this.boundPort, this.path);
  }

  public async start(agentContext: AgentContext): Promise<void> {
    if (this.server) throw new CredoError(`${this.label} inbound transport already started`);
    this.agentContext = agentContext;
    this.logger = agentContext.config.logger;
    this.eventEmitter = agentContext.dependencyManager.resolve(EventEmitter);
    this.transportService = agentContext.dependencyManager.resolve(DidCommTransportService);
    this.leanPath = agentContext.dependencyManager.isRegistered(PerunLeanPath)
      ? agentContext.dependencyManager.resolve(PerunLeanPath)
      : undefined;
    reportReceiveOutcomes(agentContext);

    const { server, bound } = this.buildServer();
    guardConnections(server, this.budget, this.report);
    this.boundPort = await listen(server, this.host, this.requestedPort);
    this.server = server;
    bound?.();

    const endpoint = this.endpoint as string;
    if (this.shouldAnnounce) {
      announceEndpoint(agentContext, endpoint);
      this.announced = endpoint;
    }
    this.logger.debug(`${this.label} inbound DIDComm transport listening on ${endpoint}`);
  }

  public async stop(): Promise<void> {
    if (this.announced && this.agentContext) withdrawEndpoint(this.agentContext, this.announced);
    this.announced = undefined;
    if (this.closeConnections) await this.closeConnections();
    const server = this.server;
    this.server = undefined;
    this.boundPort = undefined;
    await this.closeServer(server);
    this.inboundLog.flush();
    this.logger?.debug(`${this.label} inbound DIDComm transport stopped`);
  }

  /** Closes the server unbound by stop(), if there was one. */
  protected async closeServer(server: Server | undefined): Promise<void> {
    if (server) await closeServer(server);
  }
}
