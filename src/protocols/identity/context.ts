// The project's own JSON-LD context for the peer credential, and the document loader that serves
// it from memory. Nothing is ever fetched: the loader answers our context, the contexts bundled
// with Credo and DIDs (resolved by Credo's DID resolvers); any other URL is refused, so signing
// and verification behave the same with and without a network.
import {
  DidResolverService,
  W3cCredentialsModuleConfig,
  isDid,
  vcLibraries,
  type AgentContext,
  type DocumentLoader,
} from '@credo-ts/core';

/** URL of the peer-credential context. `.example` never resolves: the document lives here. */
export const PERUN_CONTEXT_URL = 'https://perun-agent.example/contexts/peer-credential/v1';
/** The vocabulary behind the context's terms. */
export const PERUN_VOCAB = 'https://perun-agent.example/vocab#';
/** The W3C VC data model 1.1 context (bundled with Credo). */
export const CREDENTIALS_V1_URL = 'https://www.w3.org/2018/credentials/v1';
/** The credential type a peer credential carries besides VerifiableCredential. */
export const PEER_CREDENTIAL_TYPE = 'PerunPeerCredential';

/**
 * The context document. `spendingLimit` is a decimal string in wei (a JSON number cannot carry
 * 256-bit amounts exactly); `ethereumAddress` is an EIP-55 address. A credential for a TON
 * channel address has `backend` "ton" and `tonAddress` (the Ed25519 key, 0x-hex) instead.
 */
export const PERUN_CONTEXT = {
  '@context': {
    '@version': 1.1,
    '@protected': true,
    PerunPeerCredential: `${PERUN_VOCAB}PerunPeerCredential`,
    ethereumAddress: `${PERUN_VOCAB}ethereumAddress`,
    backend: `${PERUN_VOCAB}backend`,
    tonAddress: `${PERUN_VOCAB}tonAddress`,
    name: `${PERUN_VOCAB}name`,
    spendingLimit: `${PERUN_VOCAB}spendingLimit`,
  },
} as const;

/**
 * Contexts Credo 0.6.3 bundles (its DEFAULT_CONTEXTS); the default loader answers them from
 * memory. Listed here so the loader can refuse everything else before Credo's fallback, which
 * would fetch from the network.
 */
const BUNDLED_CONTEXTS = new Set([
  'https://w3id.org/security/v1',
  'https://w3id.org/security/v2',
  'https://w3id.org/security/suites/x25519-2019/v1',
  'https://w3id.org/security/suites/ed25519-2018/v1',
  'https://w3id.org/security/suites/secp256k1-2019/v1',
  CREDENTIALS_V1_URL,
  'https://w3id.org/did/v1',
  'https://www.w3.org/ns/did/v1',
  'https://w3.org/ns/did/v1',
  'https://www.w3.org/ns/odrl.jsonld',
  'http://schema.org/',
  'https://identity.foundation/presentation-exchange/submission/v1',
  'https://purl.imsglobal.org/spec/ob/v3p0/context.json',
  'https://w3c-ccg.github.io/vc-status-rl-2020/contexts/vc-revocation-list-2020/v1.jsonld',
  'https://w3id.org/security/data-integrity/v2',
  'https://identity.foundation/linked-vp/contexts/v1',
]);

export class OfflineDocumentError extends Error {
  constructor(readonly url: string) {
    super(`the document loader works offline and does not know ${url}`);
    this.name = 'OfflineDocumentError';
  }
}

/** Contexts that define the verification-method terms of Ed25519 and X25519 keys. */
const KEY_CONTEXTS = [
  'https://w3id.org/security/suites/ed25519-2018/v1',
  'https://w3id.org/security/suites/x25519-2019/v1',
];

/**
 * Credo's `documentLoader` option of the W3C credentials module: ours + bundled + DIDs, offline.
 *
 * DIDs and DID URLs are resolved with Credo's resolvers and framed as Credo's default loader does,
 * with one difference: the frame's context always includes the Ed25519-2018 and X25519-2019
 * suite contexts. A did:peer:2 document (the DIDs our agents use on connections) lists only the
 * DID context, and framing with it alone drops `publicKeyBase58` from its
 * Ed25519VerificationKey2018 methods, so a presentation signed by such a DID could be neither
 * created nor verified.
 */
export function perunDocumentLoader(agentContext: AgentContext): DocumentLoader {
  const fallback = new W3cCredentialsModuleConfig().documentLoader(agentContext);
  const loader: DocumentLoader = async (url: string) => {
    const base = url.split('#')[0]!;
    if (base === PERUN_CONTEXT_URL) {
      return { contextUrl: null, documentUrl: url, document: structuredClone(PERUN_CONTEXT) as never };
    }
    if (BUNDLED_CONTEXTS.has(base)) return fallback(url);
    if (isDid(url)) {
      const resolved = await agentContext.dependencyManager
        .resolve(DidResolverService)
        .resolve(agentContext, url);
      if (resolved.didDocument === null) throw new Error(`unable to resolve ${url}`);
      const doc = resolved.didDocument.toJSON() as Record<string, unknown>;
      const given = doc['@context'];
      const context = [...new Set([...(Array.isArray(given) ? given : [given]), ...KEY_CONTEXTS])];
      const document = (await vcLibraries.jsonld.frame(
        { ...doc, '@context': context },
        { '@context': context, '@embed': '@never', id: url },
        { documentLoader: loader },
      )) as Record<string, unknown>;
      return { contextUrl: null, documentUrl: url, document };
    }
    throw new OfflineDocumentError(url);
  };
  return loader;
}
