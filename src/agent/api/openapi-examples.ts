// Examples in the OpenAPI document (./openapi.ts) and on the /docs page: one value per response
// view and per request body, as an agent "alice" paying a peer "bob" would see them. A test checks
// that each request example passes the route's own input check and each response example fits
// its schema.
import type { ViewName } from './routes.js';

const ALICE_ADDRESS = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const BOB_ADDRESS = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359';
const CONNECTION_ID = 'c0ffee00-7d1e-4b8a-9a4f-2b3c4d5e6f70';
const CHANNEL_ID = '0x7b1f3c0a9e2d4f6b8a0c1e3d5f7a9b0c2e4d6f8a1b3c5d7e9f0a2b4c6d8e0f1a';
const BOB_DID = 'did:peer:2.Ez6LSbob…';
const ISSUER_DID = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
const AT = '2025-03-14T09:26:53.000Z';

const CONNECTION = {
  id: CONNECTION_ID,
  theirLabel: 'bob',
  state: 'completed',
  ready: true,
  ourDid: 'did:peer:2.Ez6LSalice…',
  theirDid: BOB_DID,
  createdAt: AT,
};

const CLAIMS = { ethereumAddress: BOB_ADDRESS, name: 'Bob', spendingLimit: '5' };

const PAYMENT = {
  id: 'invoice-2025-0042',
  channelId: CHANNEL_ID,
  asset: 'ETH',
  version: '7',
  amount: '0.25',
  direction: 'sent',
  ourBalance: '1.25',
  theirBalance: '0.75',
  batch: 1,
  at: AT,
};

/** A response example per view. */
export const VIEW_EXAMPLES: Record<ViewName, unknown> = {
  AgentInfo: {
    label: 'alice',
    did: 'did:peer:2.Ez6LSalice…',
    issuerDid: ISSUER_DID,
    address: ALICE_ADDRESS,
    didcommEndpoint: 'http://127.0.0.1:7001',
    chainId: '31337',
    adjudicator: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    assetHolderETH: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
    assets: [{ symbol: 'ETH', decimals: 18, holder: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' }],
    trustedIssuers: [ISSUER_DID],
    signer: 'native',
  },
  InvitationView: {
    id: '5b0e3f7c-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
    url: 'http://127.0.0.1:7001?oob=eyJAdHlwZSI6Imh0dHBzOi8vZGlkY29tbS5vcmcvb3V0LW9mLWJhbmQvMS4xL2ludml0YXRpb24ifQ',
  },
  ConnectionView: CONNECTION,
  CredentialView: {
    id: 'urn:uuid:3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9',
    issuer: ISSUER_DID,
    subject: BOB_DID,
    types: ['VerifiableCredential', 'PerunPeerCredential'],
    claims: CLAIMS,
    issuanceDate: AT,
    expirationDate: '2026-03-14T09:26:53.000Z',
  },
  ChannelView: {
    id: CHANNEL_ID,
    connectionId: CONNECTION_ID,
    peerDid: BOB_DID,
    peerLabel: 'bob',
    idx: 0,
    phase: 'Acting',
    status: 'open',
    version: '7',
    asset: 'ETH',
    ourBalance: '1.25',
    theirBalance: '0.75',
    challengeDuration: 60,
    participants: [ALICE_ADDRESS, BOB_ADDRESS],
    isFinal: false,
    virtual: false,
    locked: '0',
    queuedPayments: 0,
    synced: true,
  },
  PaymentView: PAYMENT,
  SettlementView: {
    channelId: CHANNEL_ID,
    alreadySettled: false,
    withdrawn: [{ asset: 'ETH', amount: '1.25', receiver: ALICE_ADDRESS }],
  },
  SignedCredentialView: {
    credential:
      '{"@context":["https://www.w3.org/2018/credentials/v1"],"type":["VerifiableCredential","PerunPeerCredential"],"proof":{}}',
  },
  SignedStateView: {
    channelId: CHANNEL_ID,
    version: '7',
    params: { challengeDuration: '60', participants: [ALICE_ADDRESS, BOB_ADDRESS] },
    state: { id: CHANNEL_ID, version: '7', isFinal: false },
    sigs: ['0x3c1f…1b', '0x9a4e…1c'],
  },
  ProposalView: {
    id: '8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a',
    connectionId: CONNECTION_ID,
    peerDid: BOB_DID,
    peerLabel: 'bob',
    claims: { ...CLAIMS, issuer: ISSUER_DID },
    asset: 'ETH',
    peerFund: '1',
    ourFund: '0',
    challengeDuration: 60,
    status: 'pending',
    receivedAt: AT,
  },
  BalanceView: {
    address: ALICE_ADDRESS,
    onChain: '98.49',
    inChannels: '1.25',
    channels: 1,
    tokens: [],
  },
  MessageView: {
    id: '1e2d3c4b-5a69-4788-8796-a5b4c3d2e1f0',
    connectionId: CONNECTION_ID,
    content: 'invoice 2025-0042 paid',
    direction: 'sent',
    sentTime: AT,
  },
  CredentialSaleView: {
    id: '0f2a2f0e-3c7b-4f43-9d51-6a8d0f0b9c11',
    role: 'issuer',
    connectionId: CONNECTION_ID,
    peerDid: BOB_DID,
    price: '0.05',
    digest: '0x8f4e2d1c0b9a8f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e',
    status: 'offered',
    credential: { type: ['VerifiableCredential', 'DiplomaCredential'], credentialSubject: { degree: 'MSc' } },
  },
};

/** A body example per route operation that takes a body. */
export const REQUEST_EXAMPLES: Record<string, Record<string, unknown>> = {
  acceptInvitation: { invitationUrl: (VIEW_EXAMPLES.InvitationView as { url: string }).url },
  issueCredential: { connectionId: CONNECTION_ID, name: 'Bob', spendingLimit: '5' },
  signCredential: { subject: BOB_DID, name: 'Bob', spendingLimit: '5', ethereumAddress: BOB_ADDRESS },
  importCredential: { credential: (VIEW_EXAMPLES.SignedCredentialView as { credential: string }).credential },
  requestCredential: { connectionId: CONNECTION_ID, name: 'Bob' },
  openChannel: { connectionId: CONNECTION_ID, fund: '1.5', peerFund: '0.5' },
  openVirtualChannel: { connectionId: CONNECTION_ID, via: CHANNEL_ID, fund: '0.5', peerFund: '0' },
  openSubChannel: { fund: '0.2', peerFund: '0' },
  pay: { amount: '0.25', id: 'invoice-2025-0042' },
  rejectProposal: { reason: 'not today' },
  offerCredential: { connectionId: CONNECTION_ID, claims: '{"degree":"MSc"}', price: '0.05' },
  sendMessage: { connectionId: CONNECTION_ID, content: 'invoice 2025-0042 paid' },
};

/** What an event on /events and a webhook's body look like. */
export const EVENT_EXAMPLE = { id: 1741944413001, at: AT, type: 'payment-sent', payment: PAYMENT };

export const ERROR_EXAMPLE = {
  category: 'client',
  code: 'INVALID_REQUEST',
  message: 'amount: expected a decimal amount of ETH such as "1.5"',
  details: { field: 'amount' },
};
