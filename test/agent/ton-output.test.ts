// The CLI's lines for a node on TON: its backend and wallet in `info`, amounts in TON in
// `balance`, a TON credential's key and spending limit in TON.
import { balanceLines, credentialLine, infoLines } from '../../src/agent/cli/output.js';
import type { AgentInfo, BalanceView, CredentialView } from '../../src/agent/node/types.js';

const KEY = `0x${'ab'.repeat(32)}`;
const WALLET = 'EQDxfta5civr7dMFyJPuVvIftdbmSOmLRPjxZqPZZ2qQzEHj';

it('info names the backend, the wallet and the Ed25519 signer', () => {
  const info: AgentInfo = {
    label: 'Alice',
    did: 'did:peer:alice',
    issuerDid: 'did:key:alice',
    address: KEY,
    didcommEndpoint: 'http://127.0.0.1:1',
    chainId: '4294967057',
    adjudicator: WALLET,
    assetHolderETH: WALLET,
    backend: 'ton',
    account: WALLET,
    assets: [{ symbol: 'TON', decimals: 9, holder: `0x${'00'.repeat(20)}` }],
    trustedIssuers: [],
    signer: 'ed25519',
  };
  const text = infoLines(info);
  expect(text).toMatch(/^backend\s+ton$/m);
  expect(text).toMatch(new RegExp(`^wallet\\s+${WALLET}$`, 'm'));
  expect(text).toMatch(/^signer\s+ed25519$/m);
  expect(text).not.toContain('secp256k1');
});

it('balance shows the wallet and TON amounts; an Ethereum node ETH as before', () => {
  const ton: BalanceView = {
    address: KEY,
    account: WALLET,
    onChain: '990.5',
    inChannels: '10',
    channels: 1,
    tokens: [],
  };
  expect(balanceLines(ton)).toMatch(/^on chain\s+990\.5 TON$/m);
  expect(balanceLines(ton)).toMatch(/^in channels\s+10 TON \(1 channel of any asset\)$/m);
  expect(balanceLines(ton)).toMatch(new RegExp(`^wallet\\s+${WALLET}$`, 'm'));
  const eth: BalanceView = {
    address: '0x' + '11'.repeat(20),
    onChain: '3',
    inChannels: '0',
    channels: 0,
    tokens: [],
  };
  expect(balanceLines(eth)).toMatch(/^on chain\s+3 ETH$/m);
  expect(balanceLines(eth)).not.toMatch(/wallet/);
});

it('a TON credential shows its key and its spending limit in TON', () => {
  const c: CredentialView = {
    id: 'c1',
    issuer: 'did:key:issuer',
    subject: 'did:peer:alice',
    types: ['VerifiableCredential', 'PerunPeerCredential'],
    claims: { ethereumAddress: '', backend: 'ton', tonAddress: KEY, name: 'Alice', spendingLimit: '50' },
    issuanceDate: '2026-12-07T00:00:00Z',
    expirationDate: undefined,
  };
  expect(credentialLine(c)).toContain(`address ${KEY}, spending limit 50 TON`);
});
