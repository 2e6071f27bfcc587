// Per-agent plumbing of the identity protocol: its message handler (registered once per agent,
// advertised for discover-features) and the state it shares with the holder and verifier APIs:
// the holder's address key and the verifier's outstanding address-proof requests.
import {
  DidCommFeatureRegistry,
  DidCommOutboundMessageContext,
  DidCommProtocol,
  type DidCommInboundMessageContext,
  type DidCommMessageHandler,
} from '@credo-ts/didcomm';
import type { PerunIdentityAgent } from '../../agent/credo/agent.js';
import type { EthereumSigner } from '../../channels/ethereum/signer.js';
import { signAddressProof } from './address-proof.js';
import {
  AddressProofMessage,
  AddressProofRequestMessage,
  IDENTITY_PROTOCOL_URI,
  IDENTITY_ROLES,
  IdentityProblemReportMessage,
} from './messages.js';

export const NO_ADDRESS_KEY = 'no-address-key';

interface PendingProof {
  connectionId: string;
  resolve: (m: AddressProofMessage) => void;
  reject: (e: Error) => void;
}

export interface IdentityState {
  /** The holder's address key; without one, address-proof requests get a problem report. */
  signer: EthereumSigner | undefined;
  /** Verifier side: thread ID of an address-proof request → who waits for its answer. */
  readonly pending: Map<string, PendingProof>;
}

class IdentityMessageHandler implements DidCommMessageHandler {
  public readonly supportedMessages = [
    AddressProofRequestMessage,
    AddressProofMessage,
    IdentityProblemReportMessage,
  ];

  public constructor(private readonly state: IdentityState) {}

  public async handle(ctx: DidCommInboundMessageContext): Promise<DidCommOutboundMessageContext | undefined> {
    const connection = ctx.assertReadyConnection();
    const m = ctx.message;
    if (m instanceof AddressProofRequestMessage) {
      const signer = this.state.signer;
      let reply;
      if (signer === undefined || connection.did === undefined || connection.theirDid === undefined) {
        reply = new IdentityProblemReportMessage({
          description: { en: 'this agent proves no Ethereum address', code: NO_ADDRESS_KEY },
        });
        reply.setThread({ threadId: m.threadId });
      } else {
        const signature = signAddressProof(signer, {
          verifierDid: connection.theirDid,
          holderDid: connection.did,
          challenge: m.challenge,
        });
        reply = new AddressProofMessage({ address: signer.address, signature, threadId: m.threadId });
      }
      return new DidCommOutboundMessageContext(reply, { agentContext: ctx.agentContext, connection });
    }
    const waiting = this.state.pending.get(m.threadId);
    if (waiting === undefined || waiting.connectionId !== connection.id) return undefined;
    this.state.pending.delete(m.threadId);
    if (m instanceof AddressProofMessage) waiting.resolve(m);
    else if (m instanceof IdentityProblemReportMessage)
      waiting.reject(new Error(m.description?.code ?? 'refused'));
    return undefined;
  }
}

const states = new WeakMap<PerunIdentityAgent, IdentityState>();

/** The agent's identity-protocol state; registers the handler and the protocol on first use. */
export function identityState(agent: PerunIdentityAgent): IdentityState {
  let state = states.get(agent);
  if (state === undefined) {
    state = { signer: undefined, pending: new Map() };
    states.set(agent, state);
    agent.didcomm.registerMessageHandlers([new IdentityMessageHandler(state)]);
    agent.dependencyManager
      .resolve(DidCommFeatureRegistry)
      .register(new DidCommProtocol({ id: IDENTITY_PROTOCOL_URI, roles: [...IDENTITY_ROLES] }));
  }
  return state;
}
