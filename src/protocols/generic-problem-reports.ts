// Credo's generic problem report (https://didcomm.org/notification/1.0/problem-report): what a
// peer's Credo sends for a message it could not take, above all a message type it does not
// support, threaded (~thread.pthid) on that message. One handler per agent, registered by the
// first protocol module that asks for it; each module listens for the reports on what it sent.
import type { AgentContext } from '@credo-ts/core';
import {
  DidCommMessageHandlerRegistry,
  DidCommProblemReportMessage,
  type DidCommConnectionRecord,
  type DidCommInboundMessageContext,
  type DidCommMessageHandler,
} from '@credo-ts/didcomm';

/** The code Credo's dispatcher gives a message type it has no handler for. */
export const UNSUPPORTED_MESSAGE_CODE = 'message-parse-failure';

export type GenericReportListener = (
  connection: DidCommConnectionRecord,
  report: DidCommProblemReportMessage,
) => void;

export class GenericProblemReports {
  readonly #listeners = new Set<GenericReportListener>();

  readonly handler: DidCommMessageHandler = {
    supportedMessages: [DidCommProblemReportMessage],
    handle: async (ctx: DidCommInboundMessageContext) => {
      const connection = ctx.assertReadyConnection();
      for (const listener of this.#listeners)
        listener(connection, ctx.message as DidCommProblemReportMessage);
      return undefined;
    },
  };

  /** Calls `listener` with every generic problem report on a ready connection; returns the unsubscribe. */
  subscribe(listener: GenericReportListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** The agent's GenericProblemReports, its handler registered on first use. */
export function genericProblemReports(agentContext: AgentContext): GenericProblemReports {
  const dm = agentContext.dependencyManager;
  if (!dm.isRegistered(GenericProblemReports)) {
    const reports = new GenericProblemReports();
    dm.registerInstance(GenericProblemReports, reports);
    agentContext.resolve(DidCommMessageHandlerRegistry).registerMessageHandler(reports.handler);
  }
  return dm.resolve(GenericProblemReports);
}

/** Whether a problem report (its type and code) is Credo's generic one for a message type its sender has no handler for. */
export function isUnsupportedTypeReport(report: { type: string; code?: string }): boolean {
  return (
    report.code === UNSUPPORTED_MESSAGE_CODE &&
    report.type === DidCommProblemReportMessage.type.messageTypeUri
  );
}

/** The message a generic report says its sender could not take, if it is that kind of report. */
export function unsupportedMessageId(report: DidCommProblemReportMessage): string | undefined {
  if (!isUnsupportedTypeReport({ type: report.type, code: report.description?.code })) return undefined;
  return report.thread?.parentThreadId;
}
