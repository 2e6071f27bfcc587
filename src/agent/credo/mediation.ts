// The DIDComm modules of the two mediation roles (Aries RFC 0211 coordinate-mediation, RFC 0685
// message pickup v2), as Credo's DidCommModule takes them. A mediator grants every mediation
// request, queues what is forwarded to its recipients in the queue it is given and delivers it
// live to a recipient whose pickup session is open. A recipient connects to the mediator of its
// invitation while Credo initialises, requests mediation and makes it the default: every DID and
// invitation made after that names the mediator's endpoint and routing key. Credo starts no
// pickup of its own (strategy None): ./pickup.ts does, in live mode or polling as the node picks
// once it knows the mediator's endpoints (../node/mediation.ts). Without a role neither module
// nor pickup runs.
import {
  DidCommMediatorPickupStrategy,
  DidCommMessageForwardingStrategy,
  DidCommMessagePickupV2Protocol,
  type DidCommQueueTransportRepository,
} from '@credo-ts/didcomm';
import { MAX_RETRY_MS, PICKUP_BATCH } from './pickup.js';

export type MediationOptions =
  | { role: 'mediator'; queue: DidCommQueueTransportRepository }
  | {
      role: 'recipient';
      /** The mediator's out-of-band invitation URL. */
      invitationUrl: string;
    };

/** The DidCommModule options of `m`'s role (pickup v2 only); every module off without one. */
export function mediationModules(m: MediationOptions | undefined) {
  const pickup = { maximumBatchSize: PICKUP_BATCH, protocols: [new DidCommMessagePickupV2Protocol()] };
  return {
    messagePickup: m === undefined ? false : pickup,
    mediator:
      m?.role === 'mediator'
        ? {
            autoAcceptMediationRequests: true,
            messageForwardingStrategy: DidCommMessageForwardingStrategy.QueueAndLiveModeDelivery,
          }
        : false,
    mediationRecipient:
      m?.role === 'recipient'
        ? {
            mediatorInvitationUrl: m.invitationUrl,
            mediatorPickupStrategy: DidCommMediatorPickupStrategy.None,
            maximumMessagePickup: PICKUP_BATCH,
            baseMediatorReconnectionIntervalMs: 250,
            maximumMediatorReconnectionIntervalMs: MAX_RETRY_MS,
          }
        : false,
    ...(m?.role === 'mediator' ? { queueTransportRepository: m.queue } : {}),
  };
}
