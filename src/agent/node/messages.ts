// Basic messages with peers: sending, the history of a connection, and an event for each one
// sent or received.
import { DidCommBasicMessageEventTypes, type DidCommBasicMessageStateChangedEvent } from '@credo-ts/didcomm';
import { ApiRequestError } from '../api/api-error.js';
import type { Connections } from './connections.js';
import type { NodeContext } from './context.js';
import type { MessageView } from './types.js';
import { messageView } from './views.js';

export class Messages {
  constructor(
    private readonly ctx: NodeContext,
    private readonly connections: Connections,
  ) {}

  async send(connectionId: string, content: string): Promise<MessageView> {
    const c = await this.connections.ready(connectionId);
    if (typeof content !== 'string' || content === '' || content.length > 10_000)
      throw new ApiRequestError(400, 'INVALID_REQUEST', 'a message has 1 to 10,000 characters', {
        field: 'content',
      });
    const record = await this.ctx.agent.didcomm.basicMessages.sendMessage(c.id, content);
    return messageView(record);
  }

  async list(connectionId?: string): Promise<MessageView[]> {
    const records = await this.ctx.agent.didcomm.basicMessages.findAllByQuery(
      connectionId === undefined ? {} : { connectionId },
    );
    return records.map(messageView).sort((a, b) => a.sentTime.localeCompare(b.sentTime));
  }

  /** Emits an event for every message sent or received; returns the stop. */
  listen(): () => void {
    const { agent, events } = this.ctx;
    const onMessage = (e: DidCommBasicMessageStateChangedEvent) => {
      const view = messageView(e.payload.basicMessageRecord);
      events.emit({ type: view.direction === 'sent' ? 'message-sent' : 'message-received', message: view });
    };
    agent.events.on(DidCommBasicMessageEventTypes.DidCommBasicMessageStateChanged, onMessage);
    return () => agent.events.off(DidCommBasicMessageEventTypes.DidCommBasicMessageStateChanged, onMessage);
  }
}
