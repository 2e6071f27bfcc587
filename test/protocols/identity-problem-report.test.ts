// A peer that cannot pass the gate says so, and the gate ends at its first problem report rather
// than at its timeout: Bob verifies unmodified Credo 0.6 agents with no credential (DIDComm with
// Credo's default modules, whose present-proof v2 has no proof formats, and one without
// present-proof) and a holder of a good credential with no key for its address. The verification
// timeout is ten minutes, far beyond each test's: only the peer's answer can end these in time.
import { Agent, ConsoleLogger, Kms, LogLevel } from '@credo-ts/core';
import {
  DidCommHttpOutboundTransport,
  DidCommModule,
  DidCommProblemReportReason,
  type DidCommConnectionRecord,
} from '@credo-ts/didcomm';
import { parseEther } from 'ethers';
import { createAgentDependencies } from '../../src/agent/credo/dependencies.js';
import { openAgentStore } from '../../src/agent/datasource.js';
import {
  InMemoryKmsKeyStorage,
  PerunKeyManagementService,
  perunKmsModuleConfig,
} from '../../src/agent/kms/index.js';
import { TypeOrmStorageModule } from '../../src/agent/storage/index.js';
import { HttpInboundTransport } from '../../src/agent/transport/index.js';
import {
  NO_ADDRESS_KEY,
  PeerNotAuthorizedError,
  type PeerCredentialIssuer,
  type PeerPolicy,
} from '../../src/protocols/identity/index.js';
import { ethAllocation } from '../channels/client-harness.js';
import { startWorld, type World } from '../ethereum/harness.js';
import { agentSide, closeSides, connect, type Side } from './identity-harness.js';

const PATIENT = { timeoutMs: 600_000 };
const TEST_MS = 20_000;

let world: World;
let issuerSide: Side;
let bob: Side;
let issuer: PeerCredentialIssuer;
let policy: PeerPolicy;
const closes: Array<() => Promise<unknown>> = [];

/** An unmodified Credo agent: DIDComm with Credo's defaults but for transports and auto-accepted connections. */
async function plainCredoAgent(label: string, proofs: boolean) {
  const dataSource = await openAgentStore(':memory:');
  const kms = await PerunKeyManagementService.open({
    storage: new InMemoryKmsKeyStorage(),
    passphrase: `${label} passphrase`,
    scrypt: { N: 2 ** 12 },
  });
  const agent = new Agent({
    config: { logger: new ConsoleLogger(LogLevel.off), allowInsecureHttpUrls: true },
    dependencies: createAgentDependencies(),
    modules: {
      storage: new TypeOrmStorageModule(dataSource),
      kms: new Kms.KeyManagementModule(perunKmsModuleConfig(kms)),
      didcomm: new DidCommModule({
        transports: {
          inbound: [new HttpInboundTransport({})],
          outbound: [new DidCommHttpOutboundTransport()],
        },
        connections: { autoAcceptConnections: true },
        ...(proofs ? {} : { proofs: false }),
      }),
    },
  });
  await agent.initialize();
  closes.push(async () => {
    await agent.shutdown();
    await dataSource.destroy();
  });
  return agent;
}
type PlainAgent = Awaited<ReturnType<typeof plainCredoAgent>>;

/** Bob's connection with the plain agent, which accepts his invitation. */
async function bobConnects(peer: PlainAgent): Promise<DidCommConnectionRecord> {
  const oob = await bob.agent.didcomm.oob.createInvitation({ label: 'Bob' });
  const url = oob.outOfBandInvitation.toUrl({ domain: 'https://perun.example' });
  const { connectionRecord } = await peer.didcomm.oob.receiveInvitationFromUrl(url, { label: 'plain' });
  const [ours] = await bob.agent.didcomm.connections.findAllByOutOfBandId(oob.id);
  await bob.agent.didcomm.connections.returnWhenIsConnected(ours!.id, { timeoutMs: 20_000 });
  expect(connectionRecord).toBeDefined();
  return bob.agent.didcomm.connections.getById(ours!.id);
}

/** Bob's refusal of the peer on `connectionId` under `p`, and its record. */
async function refusal(connectionId: string, p: PeerPolicy): Promise<PeerNotAuthorizedError> {
  const err = await bob.agent.modules.identity.verifyPeer(connectionId, p, PATIENT).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PeerNotAuthorizedError);
  const [newest, ...older] = await bob.agent.modules.identity.peerVerifications(connectionId);
  expect(newest).toMatchObject({ outcome: (err as PeerNotAuthorizedError).code });
  expect(older.filter((r) => r.outcome === 'verified')).toEqual([]);
  return err as PeerNotAuthorizedError;
}

beforeAll(async () => {
  world = await startWorld();
  issuerSide = await agentSide(world, 'Issuer');
  issuer = await issuerSide.agent.modules.identity.createIssuer();
  policy = { trustedIssuers: [issuer.did], requiredClaims: { minSpendingLimit: parseEther('1') } };
  bob = await agentSide(world, 'Bob', 2);
}, 60_000);

afterAll(async () => {
  for (const close of closes.splice(0)) await close();
  await closeSides();
  await world?.stop();
});

it(
  'a Credo agent with present-proof v2 but no proof format answers the address-proof request with a problem report: no-address-proof',
  async () => {
    const peer = await plainCredoAgent('Plain', true);
    const c = await bobConnects(peer);
    const err = await refusal(c.id, policy);
    expect(err.code).toBe('no-address-proof');
    expect(err.details.problem).toMatchObject({
      type: 'https://didcomm.org/notification/1.0/problem-report',
      code: DidCommProblemReportReason.MessageParseFailure,
      text: expect.stringContaining('not supported'),
    });
    // Proposing through the gate ends the same way, with nothing proposed.
    const attempt = bob.agent.modules.identity.proposeToVerifiedPeer(
      bob.client!,
      c.id,
      policy,
      { allocation: ethAllocation(world, 1n, 0n), challengeDuration: 60n },
      PATIENT,
    );
    await expect(attempt).rejects.toMatchObject({ code: 'no-address-proof' });
    expect(bob.client!.channels()).toEqual([]);
  },
  TEST_MS,
);

it(
  'a Credo agent without present-proof answers the presentation request with a problem report: presentation-refused',
  async () => {
    const peer = await plainCredoAgent('Plain without proofs', false);
    const c = await bobConnects(peer);
    const err = await refusal(c.id, { ...policy, requireAddressProof: false });
    expect(err.code).toBe('presentation-refused');
    expect(err.details.problem).toMatchObject({
      code: DidCommProblemReportReason.MessageParseFailure,
      text: expect.stringContaining('present-proof/2.0/request-presentation'),
    });
    // With the address proof asked for too, whichever problem report comes first ends it.
    const both = await refusal(c.id, policy);
    expect(['presentation-refused', 'no-address-proof']).toContain(both.code);
  },
  TEST_MS,
);

it(
  'a holder of a good credential without a key for its address: no-address-proof (no-address-key)',
  async () => {
    const carol = await agentSide(world, 'Carol', 4);
    carol.holder!.stop();
    carol.holder = carol.agent.modules.identity.enablePeerHolder();
    const [bc] = await connect(bob, carol);
    const [toCarol] = await connect(issuerSide, carol);
    await issuer.issue(toCarol.id, {
      ethereumAddress: carol.party!.signer.address,
      name: 'Carol',
      spendingLimit: parseEther('10'),
    });
    const err = await refusal(bc.id, policy);
    expect(err.code).toBe('no-address-proof');
    expect(err.details.problem).toMatchObject({ code: NO_ADDRESS_KEY });
  },
  TEST_MS,
);
