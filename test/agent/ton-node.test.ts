// A node on TON (src/agent/node/ton-node.ts): its Ed25519 key is kept in the agent's KMS, made
// once and the same after a restart, encrypted at rest, refused for a database that holds no
// agent; its ledger names the TON asset and backend, and refuses the Ethereum-only features.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Address as TonAddress } from '@ton/core';
import { openAgentStore } from '../../src/agent/datasource.js';
import { PerunKeyManagementService, TypeOrmKmsKeyStorage } from '../../src/agent/kms/index.js';
import { databaseUrl } from '../../src/agent/node/config.js';
import { TON_SECRET, startTonChain, tonSignerOf } from '../../src/agent/node/ton-node.js';
import { initAgentDir } from '../../src/agent/process/agent-process.js';
import { startTonChainServer, type TonChainServer } from '../../src/channels/ton/http-server.js';
import { TON_BACKEND_ID, tonAsset } from '../../src/channels/ton/encoding.js';
import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';

const root = mkdtempSync(join(tmpdir(), 'perun-ton-node-'));

/** Opens the agent database of `dataDir` and its KMS; `use` runs with the KMS, then the database closes. */
async function withKms<T>(
  dataDir: string,
  passphrase: string,
  use: (kms: PerunKeyManagementService) => Promise<T>,
): Promise<T> {
  const ds = await openAgentStore(databaseUrl({ database: 'agent.sqlite', dataDir }));
  try {
    return await use(
      await PerunKeyManagementService.open({ storage: new TypeOrmKmsKeyStorage(ds), passphrase }),
    );
  } finally {
    await ds.destroy();
  }
}

it('keeps the TON key in the KMS: made at the first start, the same after a restart, not in the clear', async () => {
  const dir = await initAgentDir(root, 'Keeper');
  const first = await withKms(dir.dataDir, dir.passphrase, tonSignerOf);
  const again = await withKms(dir.dataDir, dir.passphrase, tonSignerOf);
  expect(again.address).toBe(first.address);
  expect(first.address).toMatch(/^0x[0-9a-f]{64}$/);
  const seed = await withKms(dir.dataDir, dir.passphrase, (kms) =>
    kms.getSecret<{ seed: string }>(TON_SECRET),
  );
  expect(seed?.seed).toMatch(/^[0-9a-f]{64}$/);
  const file = readFileSync(join(dir.dataDir, 'agent.sqlite'));
  expect(file.includes(seed!.seed)).toBe(false);
  expect(file.includes(Buffer.from(seed!.seed, 'hex'))).toBe(false);
});

it('makes no TON key in a database that holds no agent', async () => {
  const dataDir = join(root, 'empty');
  await expect(withKms(dataDir, 'some passphrase', tonSignerOf)).rejects.toMatchObject({
    code: 'NOT_INITIALISED',
  });
  expect(await withKms(dataDir, 'some passphrase', (kms) => kms.getSecret(TON_SECRET))).toBeUndefined();
});

describe('on a TON chain server', () => {
  let server: TonChainServer;
  beforeAll(async () => {
    server = await startTonChainServer();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('names the TON asset, key and wallet, holds only its own network and contract, and refuses what needs Ethereum with BACKEND_UNSUPPORTED', async () => {
    const dir = await initAgentDir(root, 'Runner');
    const config = { kind: 'ton' as const, endpoint: server.url, perun: server.perun };
    const on = await withKms(dir.dataDir, dir.passphrase, (kms) =>
      startTonChain(config, kms, {
        pollMs: 100,
        log: () => undefined,
        store: new MemoryChannelStore(),
        onWatcherError: () => undefined,
      }),
    );
    const signer = await withKms(dir.dataDir, dir.passphrase, tonSignerOf);
    const { ledger, assets } = on;
    expect(ledger).toMatchObject({ backend: 'ton', address: signer.address, chainId: server.chain.chainID });
    expect(ledger.claims).toEqual({ backend: 'ton', tonAddress: signer.address });
    expect(ledger.info()).toMatchObject({ backend: 'ton', adjudicator: server.perun.toString() });
    expect(TonAddress.parse(ledger.account).equals(TonAddress.parse(ledger.info().account!))).toBe(true);
    expect(await ledger.nativeBalance()).toBeGreaterThan(100n * 10n ** 9n);

    expect(assets.named(undefined)).toMatchObject({ symbol: 'TON', decimals: 9 });
    expect(() => assets.named('ETH')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_ASSET' }));
    expect(ledger.allocation(assets.eth, [3n, 4n])).toEqual({
      assets: [tonAsset(server.chain.chainID, server.perun)],
      backends: [TON_BACKEND_ID],
      balances: [[3n, 4n]],
      locked: [],
    });
    const ours = tonAsset(server.chain.chainID, server.perun);
    expect(ledger.holds(ours)).toBe(true);
    expect(ledger.holds({ ...ours, chainID: ours.chainID - 1n })).toBe(false);
    expect(ledger.holds({ ...ours, ccHolder: `0x${'77'.repeat(32)}` })).toBe(false);
    expect(ledger.holds({ ...ours, ethHolder: `0x${'77'.repeat(20)}` })).toBe(false);
    expect(() => ledger.ethereum('credential sales')).toThrow(
      expect.objectContaining({
        status: 409,
        code: 'BACKEND_UNSUPPORTED',
        details: { feature: 'credential sales', backend: 'ton' },
      }),
    );
    on.close();
  }, 60_000);
});
