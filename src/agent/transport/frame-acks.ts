// Acknowledgements of the frames on a WebSocket the lean path's carrier upgraded from our HTTP
// endpoint (./lean-outbound.ts asks, ./http-inbound.ts takes). Ours, not DIDComm: a socket
// carries them only where both sides named FRAME_ACKS_PROTOCOL in the upgrade
// (Sec-WebSocket-Protocol), so no other agent ever sees one.
//
// The receiver answers every envelope frame, in the order they came, with one binary frame holding
// the status a POST of that envelope would have got: 202 once the lean path handed it over (where
// our HTTP endpoint writes its early 200 headers, and like them on the next tick) or Credo's
// pipeline processed it, else the POST's failure status (400 not decryptable, 422 refused, 500). The sender's send resolves on a
// 2xx and rejects with LeanDeliveryError otherwise; a socket that closes fails every send not yet
// acknowledged with the error a reset POST gives (ECONNRESET), so the channel core reacts to a
// peer dying with a message as it does over HTTP, at once.
import { WebSocket } from 'ws';

export const FRAME_ACKS_PROTOCOL = 'perun-lean-acks.v1';

/** A status as the binary frame carrying it (ASCII digits). */
export const ackFrame = (status: number): Buffer => Buffer.from(String(status), 'latin1');

/** The status an ack frame carries, or undefined where it is not one. */
export function ackStatus(data: Buffer): number | undefined {
  if (data.length !== 3) return undefined;
  const status = Number(data.toString('latin1'));
  return Number.isInteger(status) && status >= 100 && status <= 599 ? status : undefined;
}

/** The error of a POST whose connection was reset before its answer (as node's http gives it). */
export function resetError(): Error {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

/** Receiver side: frames in arrival order, each acknowledged once it and every earlier one is settled. */
export class FrameAckQueue {
  readonly #slots: { status?: number }[] = [];
  #flushing = false;

  constructor(private readonly socket: WebSocket) {}

  /** The next frame's slot, to settle with its status. */
  next(): { status?: number } {
    const slot: { status?: number } = {};
    this.#slots.push(slot);
    return slot;
  }

  /**
   * Settles a frame; its ack, and those of the frames after it already settled, go out on the next
   * tick, as node's HTTP server writes a response's headers (the socket corked until then): what
   * the frame's handover set going in this tick (the channel core up to its first wait) runs first,
   * as before a POST's early headers leave.
   */
  settle(slot: { status?: number }, status: number): void {
    if (slot.status !== undefined) return;
    slot.status = status;
    if (this.#flushing) return;
    this.#flushing = true;
    process.nextTick(() => this.#flush());
  }

  #flush(): void {
    this.#flushing = false;
    while (this.#slots.length > 0 && this.#slots[0]!.status !== undefined) {
      const done = this.#slots.shift()!;
      if (this.socket.readyState === WebSocket.OPEN) this.socket.send(ackFrame(done.status!));
    }
  }
}

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Sender side: the sends of one socket waiting for their acks, in order. */
export class AckedSends {
  readonly #pending: Pending[] = [];

  constructor(
    private readonly socket: WebSocket,
    private readonly timeoutMs: number,
    private readonly refused: (status: number) => Error,
  ) {
    socket.once('close', () => this.#failAll());
  }

  /** Writes `frame`; resolves on its 2xx ack. */
  send(frame: string): Promise<void> {
    if (this.socket.readyState !== WebSocket.OPEN) return Promise.reject(resetError());
    return new Promise<void>((resolve, reject) => {
      // Unanswered in time: as a request that timed out, and the socket is given up.
      const timer = setTimeout(() => {
        reject(new Error('the request timed out'));
        this.socket.terminate();
      }, this.timeoutMs);
      timer.unref();
      this.#pending.push({ resolve, reject, timer });
      this.socket.send(frame, (error) => {
        if (error) this.socket.terminate();
      });
    });
  }

  /** An ack frame: it answers the oldest send; one with no send waiting breaks the protocol. */
  acked(status: number): void {
    const first = this.#pending.shift();
    if (first === undefined) {
      this.socket.terminate();
      return;
    }
    clearTimeout(first.timer);
    if (status >= 200 && status <= 299) first.resolve();
    else first.reject(this.refused(status));
  }

  #failAll(): void {
    for (const p of this.#pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(resetError());
    }
  }
}
