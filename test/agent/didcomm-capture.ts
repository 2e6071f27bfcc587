// A peer's hands on raw DIDComm for the inbound tests: an HTTP outbound that hands the envelopes
// Credo packed to the test instead of sending them, and a message whose plaintext is whatever the
// test says, so Credo itself packs (authcrypts) hostile or malformed plaintexts on a connection.
import { randomUUID } from 'node:crypto';
import {
  DidCommMessage,
  type DidCommOutboundPackage,
  type DidCommOutboundTransport,
  type DidCommPlaintextMessage,
} from '@credo-ts/didcomm';

/** Sends as usual, or hands the packed envelope to the test while `capture` is set. */
export class CapturingOutbound implements DidCommOutboundTransport {
  public readonly supportedSchemes = ['http', 'https'];
  public capture: ((p: DidCommOutboundPackage) => void) | undefined;
  public constructor(private readonly inner: DidCommOutboundTransport) {}
  public start(): Promise<void> {
    return Promise.resolve();
  }
  public stop(): Promise<void> {
    return Promise.resolve();
  }
  public async sendMessage(p: DidCommOutboundPackage): Promise<void> {
    if (this.capture === undefined) return this.inner.sendMessage(p);
    this.capture(p);
  }
}

/** A message whose plaintext is whatever the test says: the packing is Credo's own. */
export class RawMessage extends DidCommMessage {
  public override readonly type = 'https://didcomm.org/fuzz/1.0/raw';
  public constructor(private readonly raw: unknown) {
    super();
    this.id = randomUUID();
  }
  public override toJSON(): DidCommPlaintextMessage {
    return this.raw as DidCommPlaintextMessage;
  }
}
