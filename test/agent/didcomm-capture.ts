// A peer's hands on raw DIDComm for the inbound tests: an HTTP outbound that hands the envelopes
// Credo packed to the test instead of sending them, and a message whose plaintext is whatever the
// test says, so Credo itself packs (authcrypts) hostile or malformed plaintexts on a connection;
// and the set-up that puts a capturing outbound on a peer and connects it.
import { randomUUID } from 'node:crypto';
import {
  DidCommHttpOutboundTransport,
  DidCommMessage,
  type DidCommConnectionRecord,
  type DidCommConnectionsApi,
  type DidCommOutOfBandApi,
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

/** The parts of an agent's DIDComm API the capturing set-up uses. */
interface DidCommParts {
  oob: DidCommOutOfBandApi;
  connections: DidCommConnectionsApi;
  outboundTransports: DidCommOutboundTransport[];
  registerOutboundTransport(t: DidCommOutboundTransport): void;
  unregisterOutboundTransport(t: DidCommOutboundTransport): Promise<void>;
}

/**
 * Swaps `peer`'s HTTP outbound for a capturing one and connects it (as invitee) to `inviter`;
 * answers once the connection is complete on both sides, with the outbound and the peer's record.
 */
export async function captureAndConnect(
  peer: { didcomm: DidCommParts },
  inviter: { didcomm: DidCommParts },
  labels: { peer: string; inviter: string },
): Promise<{ outbound: CapturingOutbound; connection: DidCommConnectionRecord }> {
  const http = peer.didcomm.outboundTransports.find((t) => t instanceof DidCommHttpOutboundTransport)!;
  const outbound = new CapturingOutbound(http);
  await peer.didcomm.unregisterOutboundTransport(http);
  peer.didcomm.registerOutboundTransport(outbound);

  const oob = await inviter.didcomm.oob.createInvitation({ label: labels.inviter });
  const url = oob.outOfBandInvitation.toUrl({ domain: 'https://perun.example' });
  const { connectionRecord } = await peer.didcomm.oob.receiveInvitationFromUrl(url, { label: labels.peer });
  const connection = await peer.didcomm.connections.returnWhenIsConnected(connectionRecord!.id, {
    timeoutMs: 20_000,
  });
  const [pending] = await inviter.didcomm.connections.findAllByOutOfBandId(oob.id);
  await inviter.didcomm.connections.returnWhenIsConnected(pending!.id, { timeoutMs: 20_000 });
  return { outbound, connection };
}
