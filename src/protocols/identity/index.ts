// Identity and gating as a Credo module (./identity-module.ts, reached as `agent.modules.identity`):
// the peer credential (JSON-LD, Ed25519Signature2018, did:key issuer), its issuance over
// issue-credential v2, the holder's automatic answers, proof of control of the Ethereum address,
// and the policy gate in front of the channel client with the record of its verifications.
export * from './address-proof.js';
export * from './context.js';
export * from './errors.js';
export * from './exchange-protocols.js';
export { IdentityApi } from './identity-api.js';
export { IdentityModule } from './identity-module.js';
export {
  AddressProofMessage,
  AddressProofRequestMessage,
  IDENTITY_PROTOCOL_URI,
  IDENTITY_ROLES,
} from './messages/identity-messages.js';
export * from './peer-credential.js';
export {
  PeerVerificationRecord,
  PeerVerificationRepository,
  type PeerVerificationProps,
  type StoredPeer,
  type VerificationOutcome,
} from './peer-verification-record.js';
export {
  checkPresentation,
  peerPresentationDefinition,
  policyFingerprint,
  type PeerPolicy,
  type RequiredClaims,
  type VerifiedPeer,
} from './policy.js';
export { NO_ADDRESS_KEY } from './services/address-proof-service.js';
export {
  NO_CREDENTIAL_DESCRIPTION,
  WRONG_DOMAIN_DESCRIPTION,
  type PeerHolder,
  type PeerHolderOptions,
} from './services/peer-holder-service.js';
export { PEER_IDENTITY_TAG } from './services/peer-identities-service.js';
export { PeerCredentialIssuer, type IssueOptions, type IssuerKey } from './services/peer-issuer-service.js';
export type { PeerDecision, VerifyOptions } from './services/peer-verifier-service.js';
export type { GateOptions, VerifiedProposalHandler } from './services/proposal-gate-service.js';
export { VERIFICATIONS_KEPT, type PeerExpectation } from './services/verified-peers-service.js';
