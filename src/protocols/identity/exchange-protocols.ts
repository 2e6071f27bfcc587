// The issue-credential and present-proof protocols the identity module runs on: issue-credential
// v2 with JSON-LD credentials and present-proof v2 with DIF presentation exchange. The agent
// configures its DIDComm module with these; the identity services reach their APIs, typed for
// these formats, from the agent context they act in.
import type { AgentContext } from '@credo-ts/core';
import {
  DidCommCredentialV2Protocol,
  DidCommCredentialsApi,
  DidCommDifPresentationExchangeProofFormatService,
  DidCommJsonLdCredentialFormatService,
  DidCommProofV2Protocol,
  DidCommProofsApi,
} from '@credo-ts/didcomm';

export type PeerCredentialProtocols = DidCommCredentialV2Protocol<DidCommJsonLdCredentialFormatService[]>[];
export type PeerProofProtocols = DidCommProofV2Protocol<DidCommDifPresentationExchangeProofFormatService[]>[];

/** `credentials.credentialProtocols` of the DIDComm module. */
export function peerCredentialProtocols(): PeerCredentialProtocols {
  return [
    new DidCommCredentialV2Protocol({ credentialFormats: [new DidCommJsonLdCredentialFormatService()] }),
  ];
}

/** `proofs.proofProtocols` of the DIDComm module. */
export function peerProofProtocols(): PeerProofProtocols {
  return [
    new DidCommProofV2Protocol({ proofFormats: [new DidCommDifPresentationExchangeProofFormatService()] }),
  ];
}

export function credentialsApi(agentContext: AgentContext): DidCommCredentialsApi<PeerCredentialProtocols> {
  return agentContext.resolve(DidCommCredentialsApi) as DidCommCredentialsApi<PeerCredentialProtocols>;
}

export function proofsApi(agentContext: AgentContext): DidCommProofsApi<PeerProofProtocols> {
  return agentContext.resolve(DidCommProofsApi) as DidCommProofsApi<PeerProofProtocols>;
}
