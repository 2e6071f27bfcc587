// A malicious holder for the tampering suites: it answers presentation requests on its agent with
// a presentation the test crafts (forged, tampered, signed for another challenge, replayed or
// relayed), sent as Credo sends a present-proof v2 presentation in DIF PE format. What it signs,
// it signs with Credo's own presentation-exchange service and its agent's keys.
import { DifPresentationExchangeService, type DifPresentationExchangeDefinition } from '@credo-ts/core';
import {
  DidCommAttachment,
  DidCommAttachmentData,
  DidCommMessageSender,
  DidCommOutboundMessageContext,
  DidCommPresentationV2Message,
  DidCommProofEventTypes,
  DidCommProofFormatSpec,
  DidCommProofRole,
  DidCommProofState,
  type DidCommProofStateChangedEvent,
} from '@credo-ts/didcomm';
import type { PerunIdentityAgent } from '../../src/agent/credo/agent.js';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What the verifier asked for. */
export interface PresentationRequest {
  connectionId: string;
  definition: DifPresentationExchangeDefinition;
  challenge: string;
  domain?: string;
}

/** The presentation to send for `request`. */
export type Craft = (request: PresentationRequest) => Promise<Json>;

const PEX_FORMAT = 'dif/presentation-exchange/submission@v1.0';

/**
 * A presentation of the agent's stored peer credential, signed by the agent for `challenge` and
 * `domain` (the request's, or others).
 */
export async function signedPresentation(
  agent: PerunIdentityAgent,
  definition: DifPresentationExchangeDefinition,
  challenge: string,
  domain: string | undefined,
): Promise<Json> {
  const pex = agent.dependencyManager.resolve(DifPresentationExchangeService);
  const available = await pex.getCredentialsForRequest(agent.context, definition);
  const created = await pex.createPresentation(agent.context, {
    presentationDefinition: definition,
    credentialsForInputDescriptor: pex.selectCredentialsForRequest(available),
    challenge,
    domain,
  });
  return structuredClone(created.verifiablePresentations[0]!.encoded) as Json;
}

/** The presentation `request` asks for, signed honestly: what every craft starts from. */
export const honest = (agent: PerunIdentityAgent) => (request: PresentationRequest) =>
  signedPresentation(agent, request.definition, request.challenge, request.domain);

/**
 * Answers every presentation request the agent receives with `craft()`'s presentation until the
 * returned stop. The agent's own holder must not answer requests (enablePeerHolder with
 * `answerRequests: false`).
 */
export function answerPresentationRequests(agent: PerunIdentityAgent, craft: () => Craft): () => void {
  const onProof = (e: DidCommProofStateChangedEvent) => {
    const r = e.payload.proofRecord;
    if (r.role !== DidCommProofRole.Prover || r.state !== DidCommProofState.RequestReceived) return;
    void (async () => {
      const request = (await agent.didcomm.proofs.getFormatData(r.id)).request?.presentationExchange;
      if (request === undefined) throw new Error('not a DIF PE request');
      const vp = await craft()({
        connectionId: r.connectionId!,
        definition: request.presentation_definition,
        challenge: request.options?.challenge ?? '',
        domain: request.options?.domain,
      });
      const message = new DidCommPresentationV2Message({
        formats: [new DidCommProofFormatSpec({ attachmentId: 'vp', format: PEX_FORMAT })],
        presentationAttachments: [
          new DidCommAttachment({
            id: 'vp',
            mimeType: 'application/json',
            data: new DidCommAttachmentData({ json: vp }),
          }),
        ],
      });
      message.setThread({ threadId: r.threadId });
      const connection = await agent.didcomm.connections.getById(r.connectionId!);
      await agent.dependencyManager
        .resolve(DidCommMessageSender)
        .sendMessage(new DidCommOutboundMessageContext(message, { agentContext: agent.context, connection }));
    })().catch((err: unknown) => console.error('forging holder:', err));
  };
  agent.events.on(DidCommProofEventTypes.ProofStateChanged, onProof);
  return () => agent.events.off(DidCommProofEventTypes.ProofStateChanged, onProof);
}

/**
 * The presentation the holder on `connectionId` gives `agent` (as verifier) for `definition`,
 * `challenge` and `domain`: what a relay asks an honest holder for.
 */
export async function presentationFrom(
  agent: PerunIdentityAgent,
  connectionId: string,
  definition: DifPresentationExchangeDefinition,
  challenge: string,
  domain: string | undefined,
): Promise<Json> {
  const received = new Promise<string>((resolve) => {
    const on = (e: DidCommProofStateChangedEvent) => {
      const r = e.payload.proofRecord;
      if (r.role !== DidCommProofRole.Verifier || r.connectionId !== connectionId) return;
      if (r.state !== DidCommProofState.PresentationReceived) return;
      agent.events.off(DidCommProofEventTypes.ProofStateChanged, on);
      resolve(r.id);
    };
    agent.events.on(DidCommProofEventTypes.ProofStateChanged, on);
  });
  await agent.didcomm.proofs.requestProof({
    connectionId,
    protocolVersion: 'v2',
    proofFormats: {
      presentationExchange: { presentationDefinition: definition as never, options: { challenge, domain } },
    },
  });
  const id = await received;
  return (await agent.didcomm.proofs.getFormatData(id)).presentation!.presentationExchange as Json;
}
