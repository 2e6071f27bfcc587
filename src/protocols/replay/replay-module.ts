// Replay protection as a Credo module: it owns the agent's replay guard (./replay-guard.ts, which
// explains the bound and the persistence), registers it for the Perun lean path to find, loads the
// remembered IDs before the inbound transports start (list it before the DIDComm module), and puts
// a handler middleware in front of every handler of Credo's pipeline. The middleware drops a
// message on a ready connection whose @id that connection already delivered, one whose
// `~timing.expires_time` has passed, and one sent (`~timing.out_time`) before the guard's
// retention window, where a repeat could no longer be told. Messages without a ready connection
// (the DID exchange and out-of-band handshake) are left to Credo's own state checks.
import type { AgentContext, DependencyManager, Logger, Module } from '@credo-ts/core';
import { DidCommMessageHandlerRegistry, type DidCommMessageHandlerMiddleware } from '@credo-ts/didcomm';
import type { DropReason, DroppedMessage } from './replay-events.js';
import { ReplayGuard, type ReplayGuardOptions, type ReplayStore } from './replay-guard.js';

export interface ReplayModuleOptions {
  store: ReplayStore;
  /**
   * Message types (URIs) whose IDs may be written behind: those whose effects a repeat cannot
   * redo (the Perun channel messages guarded by versions). Every other ID is durable before its
   * handler runs. Default: none.
   */
  writeBehind?: (messageType: string) => boolean;
  guard?: Omit<ReplayGuardOptions, 'onError' | 'onDropped'>;
  /** Told of every message dropped, on either path (the agent logs them, rate-limited). */
  onDropped?: (d: DroppedMessage) => void;
}

/** The middleware in front of Credo's handlers (see the file comment). */
export function replayMiddleware(
  guard: ReplayGuard,
  writeBehind: (messageType: string) => boolean,
  now: () => number = Date.now,
): DidCommMessageHandlerMiddleware {
  return async (ctx, next) => {
    const connection = ctx.connection;
    if (connection === undefined) return next();
    const { message } = ctx;
    const drop = (reason: DropReason) =>
      guard.dropped(
        ctx.agentContext,
        { connectionId: connection.id, messageId: message.id, reason },
        ctx.encryptedMessage,
      );
    const expires = message.timing?.expiresTime?.getTime();
    const sent = message.timing?.outTime?.getTime();
    if (expires !== undefined && expires < now()) return drop('expired');
    if (sent !== undefined && sent < guard.horizon) return drop('too-old');
    if (!guard.admit(connection.id, message.id)) return drop('repeat');
    if (!writeBehind(message.type)) await guard.flush();
    await next();
  };
}

export class ReplayModule implements Module {
  public readonly guard: ReplayGuard;
  readonly #writeBehind: (messageType: string) => boolean;
  #logger: Logger | undefined;

  public constructor(o: ReplayModuleOptions) {
    this.#writeBehind = o.writeBehind ?? (() => false);
    this.guard = new ReplayGuard(o.store, {
      ...o.guard,
      ...(o.onDropped === undefined ? {} : { onDropped: o.onDropped }),
      onError: (error) =>
        this.#logger?.warn('the replay guard could not store inbound message IDs', {
          error: error instanceof Error ? error.message : String(error),
        }),
    });
  }

  public register(dependencyManager: DependencyManager): void {
    dependencyManager.registerInstance(ReplayGuard, this.guard);
  }

  public async initialize(agentContext: AgentContext): Promise<void> {
    this.#logger = agentContext.config.logger;
    await this.guard.load();
    agentContext
      .resolve(DidCommMessageHandlerRegistry)
      .registerMessageHandlerMiddleware(replayMiddleware(this.guard, this.#writeBehind));
  }

  public async shutdown(): Promise<void> {
    await this.guard.close();
  }
}
