// The node's mediation role, from its configuration. A mediator (`mediator: true`) keeps its
// recipients' forwarded messages in its database (../storage/mediator-queue.ts: until picked up
// and acknowledged, at most mediatorKeepDays) and hands out one standing multi-use invitation,
// shown in `info`. A recipient (`mediatorInvitation`) is connected and granted mediation while
// Credo initialises (../credo/mediation.ts); here it starts the pickup: live mode (pickup v2 over
// the WebSocket the mediator offers, messages pushed as they come) where the mediator's DID names
// a ws:// or wss:// endpoint, else pickup v2 polling every mediatorPollSeconds over HTTP.
import {
  DidCommDocumentService,
  DidCommMediationRecipientApi,
  DidCommMediationRole,
  DidCommMediationState,
  DidCommMediatorService,
  DidCommRoutingEventTypes,
  type DidCommMediationStateChangedEvent,
} from '@credo-ts/didcomm';
import type { DataSource } from 'typeorm';
import { PerunError } from '../../channels/errors.js';
import type { PerunIdentityAgent } from '../credo/agent.js';
import type { MediationOptions } from '../credo/mediation.js';
import { startPickup } from '../credo/pickup.js';
import { TypeOrmMediatorQueue } from '../storage/mediator-queue.js';
import type { AgentConfig } from './config.js';
import type { MediationView } from './types.js';

const INVITATION_RECORD = 'perun-mediator-invitation';
const DAY_MS = 24 * 3600 * 1000;

export class MediationError extends PerunError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('MEDIATION_FAILED', message, details, options);
    this.name = 'MediationError';
  }
}

/** The Credo mediation options of a node: a mediator's queue is ours (its counts go to `info`). */
export type NodeMediationOptions =
  { role: 'mediator'; queue: TypeOrmMediatorQueue } | Extract<MediationOptions, { role: 'recipient' }>;

/**
 * The Credo mediation options of a configuration: a mediator's queue on `db`, its refusals on
 * `log` (once a minute per recipient at most).
 */
export function mediationOptionsOf(
  config: AgentConfig,
  db: DataSource,
  log: (line: string) => void,
): NodeMediationOptions | undefined {
  if (config.mediator) {
    const told = new Map<string, number>();
    const onRefused = (connectionId: string) => {
      const now = Date.now();
      if ((told.get(connectionId) ?? 0) > now - 60_000) return;
      told.set(connectionId, now);
      log(`mediator: refused a message for connection ${connectionId}: its queue is full`);
    };
    return {
      role: 'mediator',
      queue: new TypeOrmMediatorQueue(db, { keepMs: config.mediatorKeepDays * DAY_MS, onRefused }),
    };
  }
  if (config.mediatorInvitation !== '')
    return { role: 'recipient', invitationUrl: config.mediatorInvitation };
  return undefined;
}

/** Where an invitation URL points (its origin), for messages; the URL itself is long. */
export function invitationOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an unreadable URL';
  }
}

/** What `info` shows of the role, kept current; `stop` ends what it follows. */
export interface Mediation {
  view(): MediationView;
  /** The endpoint peers reach us at: the mediator's for a recipient. */
  endpoint(own: string): string;
  stop(): Promise<void> | void;
}

/** Starts the role of `options` on the initialised agent; undefined without one. */
export async function startMediation(
  agent: PerunIdentityAgent,
  options: NodeMediationOptions | undefined,
  config: AgentConfig,
  log: (line: string) => void,
): Promise<Mediation | undefined> {
  if (options?.role === 'mediator') return serveAsMediator(agent, options.queue, config);
  if (options?.role === 'recipient') return pickUpFromMediator(agent, config, log);
  return undefined;
}

async function serveAsMediator(
  agent: PerunIdentityAgent,
  queue: TypeOrmMediatorQueue,
  config: AgentConfig,
): Promise<Mediation> {
  const invitation = await standingInvitation(agent, config);
  const granted = new Set(
    (await agent.dependencyManager.resolve(DidCommMediatorService).getAll(agent.context))
      .filter((r) => r.role === DidCommMediationRole.Mediator && r.state === DidCommMediationState.Granted)
      .map((r) => r.id),
  );
  const onState = (e: DidCommMediationStateChangedEvent) => {
    const r = e.payload.mediationRecord;
    if (r.role === DidCommMediationRole.Mediator && r.state === DidCommMediationState.Granted)
      granted.add(r.id);
  };
  agent.events.on(DidCommRoutingEventTypes.MediationStateChanged, onState);
  await queue.load();
  return {
    view: () => ({
      role: 'mediator',
      invitationUrl: invitation.url,
      recipients: granted.size,
      queued: queue.waiting,
      ...queue.stats,
      keepDays: config.mediatorKeepDays,
    }),
    endpoint: (own) => own,
    stop: () => agent.events.off(DidCommRoutingEventTypes.MediationStateChanged, onState),
  };
}

/** The mediator's multi-use invitation, made once and kept (a generic record). */
async function standingInvitation(
  agent: PerunIdentityAgent,
  config: AgentConfig,
): Promise<{ url: string; outOfBandId: string }> {
  const oob = agent.didcomm.oob;
  const [stored] = await agent.genericRecords.findAllByQuery({ kind: INVITATION_RECORD });
  const kept = stored === undefined ? null : await oob.findById(String(stored.content['outOfBandId']));
  const record =
    kept ??
    (await oob.createInvitation({
      label: config.label,
      multiUseInvitation: true,
      goalCode: 'aries.vc.mediate',
    }));
  if (kept === null) {
    if (stored !== undefined) await agent.genericRecords.delete(stored);
    await agent.genericRecords.save({
      content: { outOfBandId: record.id },
      tags: { kind: INVITATION_RECORD },
    });
  }
  const [endpoint] = agent.didcomm.config.endpoints;
  return { url: record.outOfBandInvitation.toUrl({ domain: endpoint }), outOfBandId: record.id };
}

async function pickUpFromMediator(
  agent: PerunIdentityAgent,
  config: AgentConfig,
  log: (line: string) => void,
): Promise<Mediation> {
  const recipient = agent.dependencyManager.resolve(DidCommMediationRecipientApi);
  const record = await recipient.findDefaultMediator();
  if (record === null || !record.isReady || record.endpoint === undefined)
    throw new MediationError('the mediator did not grant mediation', { state: record?.state });
  const connection = await agent.didcomm.connections.getById(record.connectionId);
  const services =
    connection.theirDid === undefined
      ? []
      : await agent.dependencyManager
          .resolve(DidCommDocumentService)
          .resolveServicesFromDid(agent.context, connection.theirDid);
  const live = services.some((s) => /^wss?:/i.test(s.serviceEndpoint));
  const name = connection.theirLabel ?? connection.id;
  const stopPickup = await startPickup(agent, record, {
    live,
    pollMs: config.mediatorPollSeconds * 1000,
    log: (line) => log(line.replace(/^mediator/, `mediator ${name}`)),
  });
  const pickup = live ? 'live' : 'polling';
  const endpoint = record.endpoint;
  log(
    `mediator ${name} at ${endpoint}: picking up messages ` +
      (live ? 'live over WebSocket' : `every ${config.mediatorPollSeconds} s over HTTP`),
  );
  const view: MediationView = {
    role: 'recipient',
    mediator: connection.theirLabel ?? '',
    connectionId: connection.id,
    endpoint,
    routingKeys: [...record.routingKeys],
    pickup,
    ...(live ? {} : { pollSeconds: config.mediatorPollSeconds }),
    inbound: config.inbound,
  };
  return {
    view: () => ({ ...view }),
    endpoint: () => endpoint,
    stop: stopPickup,
  };
}
