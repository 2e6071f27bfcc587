// Channel proposals from peers, and the gate in front of them: a proposal reaches the user (or
// the auto-accept policy) only from a peer whose credential passes our policy, only for a payment
// channel of assets of our deployments (one or several, on any of our chains) or a credential-sale
// channel of one asset, and waits DECISION_MS for a decision.
// A peer verified on a connection stays verified for new channels on it for reverifyAfterSeconds
// (the identity module's VerifiedPeersService). The presentation exchanges the gate leaves behind
// are deleted once done.
import {
  DidCommProofEventTypes,
  DidCommProofState,
  type DidCommConnectionRecord,
  type DidCommProofStateChangedEvent,
} from '@credo-ts/didcomm';
import type { Decision, IncomingProposal } from '../../channels/client.js';
import { ZERO_ADDRESS } from '../../channels/ethereum/encoding.js';
import type { PeerDecision, PeerPolicy, VerifiedPeer } from '../../protocols/identity/index.js';
import { ApiRequestError } from '../api/api-error.js';
import { format, parse } from './assets.js';
import type { PerunIdentityAgent } from '../credo/agent.js';
import type { NodeContext } from './context.js';
import type { CredentialSales } from './credential-sales.js';
import type { ProposalView } from './types.js';
import { proposalView } from './views.js';

/** How long a proposal waits for the user's decision; the proposer waits 30 s for an answer. */
const DECISION_MS = 25_000;
const EXPIRED = 'nobody decided on the proposal in time (it asks more of us than auto-accept allows)';

interface PendingProposal {
  view: ProposalView;
  decide?: (accept: boolean, reason?: string) => void;
}

export class Proposals {
  readonly #pending = new Map<string, PendingProposal>();

  constructor(private readonly ctx: NodeContext) {}

  list(): ProposalView[] {
    return [...this.#pending.values()].map((p) => p.view);
  }

  async decide(id: string, accept: boolean, reason?: string): Promise<ProposalView> {
    const p = this.#pending.get(id.toLowerCase());
    if (p === undefined)
      throw new ApiRequestError(404, 'UNKNOWN_PROPOSAL', 'no such proposal', { proposalId: id });
    if (p.view.status !== 'pending' || p.decide === undefined)
      throw new ApiRequestError(409, 'PROPOSAL_DECIDED', `the proposal is ${p.view.status}`, {
        proposalId: id,
      });
    p.decide(accept, reason);
    return p.view;
  }

  /** Refuses every proposal still waiting for a decision. */
  refuseAll(reason: string): void {
    for (const p of this.#pending.values()) p.decide?.(false, reason);
  }

  /**
   * The user's (or the auto-accept policy's) decision on a verified peer's proposal; `on` is the
   * connection it came on, as the gate read it.
   */
  async onVerified(p: IncomingProposal, peer: VerifiedPeer, on?: DidCommConnectionRecord): Promise<Decision> {
    const { agent, assets, config, events } = this.ctx;
    // We are participant 1 of a channel a peer proposes; of a sub-channel, what we are in its parent.
    const me = Math.max(
      0,
      p.participants.findIndex((a) => a.toLowerCase() === this.ctx.ledger.address.toLowerCase()),
    );
    const ourFund = p.fundingAgreement[0]?.[me] ?? 0n;
    const peerFund = p.fundingAgreement[0]?.[1 - me] ?? 0n;
    const known = p.allocation.assets.map((a) =>
      this.ctx.ledger.holds(a) ? assets.byHolder(a.chainID, a.ethHolder) : undefined,
    );
    const asset = known[0] ?? assets.eth;
    const connection =
      on?.id === peer.connectionId ? on : await agent.didcomm.connections.findById(peer.connectionId);
    const view = proposalView(p, peer, connection, asset, { ours: ourFund, peer: peerFund });
    if (assets.chainIds.length > 1 || known.length > 1)
      view.assets = known.flatMap((a, i) =>
        a === undefined
          ? []
          : [
              {
                chainId: a.chainId,
                asset: a.symbol,
                ourFund: format(a, p.fundingAgreement[i]?.[me] ?? 0n),
                peerFund: format(a, p.fundingAgreement[i]?.[1 - me] ?? 0n),
              },
            ],
      );
    const entry: PendingProposal = { view };
    this.#pending.set(view.id, entry);
    const settle = (accept: boolean, reason: string) => {
      view.status = accept ? 'accepted' : reason === EXPIRED ? 'expired' : 'rejected';
      entry.decide = undefined;
      events.emit({ type: 'proposal', proposal: { ...view } });
      return accept ? ({ accept: true } as const) : ({ accept: false, reason } as const);
    };
    // The app channels we take part in pay for a credential we offered (checked before the gate).
    const saleApp = this.ctx.ledger.saleApp;
    const app = p.app.toLowerCase();
    const ourApp = app === ZERO_ADDRESS || (saleApp !== undefined && app === saleApp.toLowerCase());
    const paymentChannel = app === ZERO_ADDRESS;
    if (!ourApp || known.length === 0 || known.includes(undefined) || (!paymentChannel && known.length !== 1))
      return settle(
        false,
        'only payment channels of assets of our deployments and credential-sale channels of one asset',
      );
    // The spending limit and the auto-accept limit are in the chain's own coin (ETH on any of our
    // chains, TON); a channel that asks for our tokens always asks the user.
    const sumOf = (side: number, eth: boolean) =>
      known.reduce(
        (sum, a, i) => ((a!.token === undefined) === eth ? sum + (p.fundingAgreement[i]?.[side] ?? 0n) : sum),
        0n,
      );
    if (peer.spendingLimit !== undefined && sumOf(1 - me, true) > peer.spendingLimit)
      return settle(false, 'the deposit exceeds the peer’s spending limit');
    const limit = sumOf(me, false) === 0n ? parse(assets.eth, config.autoAcceptMaxFund) : -1n;
    if (config.autoAccept && sumOf(me, true) <= limit) return settle(true, '');
    view.expiresAt = new Date(Date.now() + DECISION_MS).toISOString();
    events.emit({ type: 'proposal', proposal: { ...view } });
    const answer = await new Promise<{ accept: boolean; reason?: string }>((resolve) => {
      const timer = setTimeout(() => resolve({ accept: false, reason: EXPIRED }), DECISION_MS);
      entry.decide = (accept, reason) => {
        clearTimeout(timer);
        resolve({ accept, reason });
      };
    });
    return settle(answer.accept, answer.accept ? '' : (answer.reason ?? 'declined by the user'));
  }
}

/** What the channel client's proposal handler consults, once the node is built. */
export interface GateParts {
  sales: CredentialSales;
  proposals: Proposals;
}

/**
 * The channel client's proposal handler: lets a credential sale refuse its app channel, then
 * verifies the proposer's credential against the policy before the proposal goes to
 * `Proposals.onVerified`.
 */
export function proposalGate(
  o: {
    agent: PerunIdentityAgent;
    policy: PeerPolicy;
    timeoutMs: number;
    /** How long a verification of the proposer serves its later proposals; 0: none. */
    reverifyAfterMs: number;
    log: (line: string) => void;
  },
  parts: () => GateParts | undefined,
): (p: IncomingProposal) => Promise<Decision> {
  const gate = o.agent.modules.identity.gatedProposalHandler(
    o.policy,
    (p, peer, connection) => parts()!.proposals.onVerified(p, peer, connection),
    {
      onRefusal: (p, err) => o.log(`refused a channel from ${p.peer}: ${err.code} (${err.message})`),
      verify: { timeoutMs: o.timeoutMs, reverifyAfterMs: o.reverifyAfterMs, onDecision: logDecision(o.log) },
    },
  );
  return async (p) => {
    const node = parts();
    const refusal = node === undefined ? undefined : await node.sales.refusal(p);
    if (refusal !== undefined) return { accept: false, reason: refusal };
    return gate(p);
  };
}

/** Logs the gate's decisions about peers (verified anew, relied on, refused); both directions use it. */
export function logDecision(log: (line: string) => void): (d: PeerDecision) => void {
  return (d) => {
    const about = `peer ${d.theirDid} on connection ${d.connectionId}`;
    if (d.decision === 'refused') log(`${about}: refused (${d.reason ?? d.code})`);
    else
      log(
        `${about}: ${d.decision === 'verified' ? 'verified' : `relying on its verification of ${d.verifiedAt}`}` +
          ` at ${d.address}, until ${d.validUntil}`,
      );
  };
}

/**
 * Deletes every finished presentation exchange (two for every verification of a pair, one each
 * way): what the gate verified went into the proposal event and its verification record. Done is
 * its last write in both roles. Returns the stop.
 */
export function deleteFinishedProofs(agent: PerunIdentityAgent, log: (line: string) => void): () => void {
  const onProof = (e: DidCommProofStateChangedEvent) => {
    const r = e.payload.proofRecord;
    if (r.state !== DidCommProofState.Done) return;
    void agent.didcomm.proofs
      .deleteById(r.id, { deleteAssociatedDidCommMessages: true })
      .catch((err: unknown) => log(`proof exchange ${r.id} not deleted: ${(err as Error).message}`));
  };
  agent.events.on(DidCommProofEventTypes.ProofStateChanged, onProof);
  return () => agent.events.off(DidCommProofEventTypes.ProofStateChanged, onProof);
}
