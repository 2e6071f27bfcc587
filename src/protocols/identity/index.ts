// Identity and gating: the peer credential (JSON-LD, Ed25519Signature2018, did:key issuer), its
// issuance over issue-credential v2, the holder's automatic answers, proof of control of the
// Ethereum address, and the policy gate in front of the channel client.
export * from './address-proof.js';
export * from './context.js';
export * from './errors.js';
export * from './holder.js';
export * from './issuer.js';
export {
  AddressProofMessage,
  AddressProofRequestMessage,
  IDENTITY_PROTOCOL_URI,
  IDENTITY_ROLES,
} from './messages.js';
export * from './verifier.js';
