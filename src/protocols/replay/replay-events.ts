// What the replay guard tells about a message it dropped: an agent event (for tests and
// subscribers) and the module's `onDropped` callback (the agent's rate-limited log). Never the
// message's content: its connection, its @id, the reason and, for correlation, its envelope.
import { EventEmitter, type AgentContext, type BaseEvent } from '@credo-ts/core';
import type { DidCommEncryptedMessage } from '@credo-ts/didcomm';

export enum ReplayEventTypes {
  MessageDropped = 'PerunReplayMessageDropped',
}

export type DropReason = 'repeat' | 'expired' | 'too-old';

export type DroppedMessage = {
  connectionId: string;
  messageId: string;
  reason: DropReason;
};

export interface ReplayMessageDroppedEvent extends BaseEvent {
  type: typeof ReplayEventTypes.MessageDropped;
  payload: DroppedMessage & { encryptedMessage?: DidCommEncryptedMessage };
}

/** Reports a dropped message on `agentContext`'s event emitter and to `onDropped`. */
export function reportDropped(
  agentContext: AgentContext,
  dropped: DroppedMessage,
  encryptedMessage: DidCommEncryptedMessage | undefined,
  onDropped: ((d: DroppedMessage) => void) | undefined,
): void {
  onDropped?.(dropped);
  agentContext.resolve(EventEmitter).emit<ReplayMessageDroppedEvent>(agentContext, {
    type: ReplayEventTypes.MessageDropped,
    payload: { ...dropped, ...(encryptedMessage === undefined ? {} : { encryptedMessage }) },
  });
}
