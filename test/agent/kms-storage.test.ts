// The KMS's keys in the agent's database: Alice's agent keeps its encrypted keys in the same
// SQLite file as its channels and Credo records; after a restart the same passphrase signs with
// the same key, another passphrase is refused, and the file holds no private key in the clear.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentContext } from '@credo-ts/core';
import { openAgentStore } from '../../src/agent/datasource.js';
import {
  PerunKeyManagementService,
  TypeOrmKmsKeyStorage,
  WrongPassphraseError,
} from '../../src/agent/kms/index.js';

const ctx = {} as AgentContext;
const scrypt = { N: 2 ** 12 };
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'perun-kms-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('Alice’s keys survive a restart in her agent database and stay locked without her passphrase', async () => {
  const file = join(dir, 'alice.sqlite');
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string; d: string };
  let ds = await openAgentStore(file);
  expect(await ds.driver.createSchemaBuilder().log()).toMatchObject({ upQueries: [] });
  let kms = await PerunKeyManagementService.open({
    storage: new TypeOrmKmsKeyStorage(ds),
    passphrase: 'alice',
    scrypt,
  });
  const { keyId } = await kms.importKey(ctx, {
    privateJwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d },
  });
  const data = new TextEncoder().encode('a channel proposal');
  const { signature } = await kms.sign(ctx, { keyId, algorithm: 'EdDSA', data });
  await ds.destroy();

  ds = await openAgentStore(file);
  await expect(
    PerunKeyManagementService.open({ storage: new TypeOrmKmsKeyStorage(ds), passphrase: 'mallory', scrypt }),
  ).rejects.toBeInstanceOf(WrongPassphraseError);
  kms = await PerunKeyManagementService.open({
    storage: new TypeOrmKmsKeyStorage(ds),
    passphrase: 'alice',
    scrypt,
  });
  expect((await kms.sign(ctx, { keyId, algorithm: 'EdDSA', data })).signature).toEqual(signature);
  await ds.destroy();

  const secret = Buffer.from(jwk.d, 'base64url');
  for (const f of [file, `${file}-wal`]) {
    if (!existsSync(f)) continue;
    const raw = readFileSync(f);
    expect(raw.includes(secret)).toBe(false);
    expect(raw.includes(Buffer.from(jwk.d))).toBe(false);
    expect(raw.includes(Buffer.from(secret.toString('base64')))).toBe(false);
  }
});
