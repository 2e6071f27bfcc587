// How a transport learns what became of a message it handed to Credo. Credo's DidCommModule
// receives every DidCommMessageReceived event through the agent's DidCommMessageReceiver and only
// logs a failure; the transport's request would wait for an answer that never comes. We wrap that
// receiver's receiveMessage (once per receiver, shared by every transport) so that the session
// the message came with hears the outcome: the event, its ordering and Credo's own error handling
// stay as they are.
import type { AgentContext } from '@credo-ts/core';
import { DidCommMessageReceiver, DidCommProblemReportError } from '@credo-ts/didcomm';

/** A transport session that wants to hear what became of the messages received with it. */
export interface OutcomeListener {
  /** `message` as it was received (the object the event carried); `error` if it failed. */
  received(message: unknown, error?: unknown): void;
}

/** What a sender is told about a message that failed before Credo took it. */
export interface Failure {
  status: 400 | 422;
  reason: string;
  /** The message itself was at fault (not decryptable, not valid): charged to its source. */
  senderFault: boolean;
}

const WRAPPED = Symbol('perun.receive-outcome');
/** Errors thrown while opening an envelope (not for us, tampered, unknown key). */
const undecryptable = new WeakSet<object>();

function isListener(session: unknown): session is OutcomeListener {
  return typeof (session as Partial<OutcomeListener> | undefined)?.received === 'function';
}

interface Receiver {
  [WRAPPED]?: true;
  receiveMessage: DidCommMessageReceiver['receiveMessage'];
  decryptMessage(agentContext: AgentContext, message: unknown): Promise<unknown>;
}

/** Makes the agent's message receiver report outcomes to the sessions it receives with. */
export function reportReceiveOutcomes(agentContext: AgentContext): void {
  const receiver = agentContext.dependencyManager.resolve(DidCommMessageReceiver) as unknown as Receiver;
  if (receiver[WRAPPED]) return;
  receiver[WRAPPED] = true;
  const receive = receiver.receiveMessage.bind(receiver);
  const decrypt = receiver.decryptMessage.bind(receiver);
  receiver.decryptMessage = async (context, message) => {
    try {
      return await decrypt(context, message);
    } catch (error) {
      if (typeof error === 'object' && error !== null) undecryptable.add(error);
      throw error;
    }
  };
  receiver.receiveMessage = async (message, options) => {
    const session = options?.session;
    try {
      await receive(message, options);
    } catch (error) {
      if (isListener(session)) session.received(message, error);
      throw error;
    }
    if (isListener(session)) session.received(message);
  };
}

/** What to tell the sender of a message that failed before Credo took it (no internals). */
export function failureOf(error: unknown): Failure {
  if (typeof error === 'object' && error !== null && undecryptable.has(error))
    return { status: 400, reason: 'message could not be decrypted', senderFault: true };
  if (error instanceof DidCommProblemReportError)
    return { status: 422, reason: 'message failed validation', senderFault: true };
  return { status: 422, reason: 'message could not be processed', senderFault: false };
}
