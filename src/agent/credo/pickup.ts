// A mediation recipient's message pickup (RFC 0685 pickup 2.0) from its default mediator, kept
// going while the mediator comes and goes. Live mode is Credo's: a status request over WebSocket,
// then live delivery on that socket, reopened with back-off when it closes; when it cannot start
// (the mediator is down) it is tried again, 1 s later and then twice as late each time up to
// 30 s, as Credo reopens a closed socket (from 250 ms). Polling is a loop of ours rather than Credo's (whose interval leaves a failed request
// as an unhandled rejection): a status request every `pollMs`, the delivery requests following
// it, a failure logged once until a pickup succeeds again.
import type { DependencyManager } from '@credo-ts/core';
import {
  DidCommMediationRecipientApi,
  DidCommMediatorPickupStrategy,
  DidCommMessagePickupApi,
  type DidCommMediationRecord,
} from '@credo-ts/didcomm';

/** Messages per pickup batch. */
export const PICKUP_BATCH = 50;
const RETRY_MS = 1000;
/** The longest wait before the next attempt to reach the mediator (both modes). */
export const MAX_RETRY_MS = 30_000;

export interface PickupOptions {
  /** Live mode over WebSocket; else polling. */
  live: boolean;
  /** Between status requests when polling. */
  pollMs: number;
  /** Where a failing (and a recovered) pickup is told. */
  log: (line: string) => void;
}

/** Starts picking up from `mediator` (first attempt awaited); resolves with the stop. */
export async function startPickup(
  agent: { dependencyManager: DependencyManager },
  mediator: DidCommMediationRecord,
  o: PickupOptions,
): Promise<() => Promise<void>> {
  const recipient = agent.dependencyManager.resolve(DidCommMediationRecipientApi);
  const pickup = agent.dependencyManager.resolve(DidCommMessagePickupApi);
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failing = false;
  const outcome = (err?: unknown) => {
    if (err === undefined) {
      if (failing) o.log('mediator: message pickup works again');
      failing = false;
    } else if (!failing) {
      failing = true;
      o.log(
        `mediator: message pickup failed, trying again: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  };
  const later = (fn: () => Promise<void>, ms: number) => {
    if (!stopped)
      timer = setTimeout(() => {
        fn().catch(() => undefined);
      }, ms);
  };

  const live = async (retryMs: number): Promise<void> => {
    try {
      await recipient.initiateMessagePickup(mediator, DidCommMediatorPickupStrategy.PickUpV2LiveMode);
      outcome();
    } catch (err) {
      outcome(err);
      await recipient.stopMessagePickup().catch(() => undefined);
      later(() => live(Math.min(retryMs * 2, MAX_RETRY_MS)), retryMs);
    }
  };
  const poll = async (): Promise<void> => {
    try {
      await pickup.pickupMessages({
        connectionId: mediator.connectionId,
        protocolVersion: 'v2',
        batchSize: PICKUP_BATCH,
      });
      outcome();
    } catch (err) {
      outcome(err);
    }
    later(poll, o.pollMs);
  };

  await (o.live ? live(RETRY_MS) : poll());
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await recipient.stopMessagePickup();
  };
}
