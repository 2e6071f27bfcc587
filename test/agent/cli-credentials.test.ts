// The perun-agent command line's credentials outside DIDComm: sign-credential's output is what
// import-credential reads.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { EXIT } from '../../src/agent/cli/output.js';
import { ADDRESS, credential, fake, tmp, cli, useFakeAgent } from './cli-support.js';

useFakeAgent();

describe('credentials outside DIDComm', () => {
  it('sign-credential prints the signed credential, which import-credential reads from a file', async () => {
    const signed = await cli([
      'sign-credential',
      'did:peer:2.carol',
      '--name',
      'Carol',
      '--spending-limit',
      '1',
      '--address',
      ADDRESS,
      '--expires',
      '2020-01-01T00:00:00Z',
    ]);
    expect(signed.code).toBe(EXIT.OK);
    expect(fake.calls()).toEqual([
      [
        'POST /credentials/sign',
        {
          subject: 'did:peer:2.carol',
          name: 'Carol',
          spendingLimit: '1',
          ethereumAddress: ADDRESS,
          expirationDate: '2020-01-01T00:00:00.000Z',
        },
      ],
    ]);
    const file = path.join(tmp, 'carol.json');
    writeFileSync(file, signed.stdout);
    fake.requests.length = 0;
    const imported = await cli(['import-credential', file, '--json']);
    expect(imported.code).toBe(EXIT.OK);
    expect(fake.calls()).toEqual([
      ['POST /credentials/import', { credential: '{"type":["VerifiableCredential"]}' }],
    ]);
    expect(JSON.parse(imported.stdout)).toEqual(credential);
    expect((await cli(['import-credential', path.join(tmp, 'missing.json')])).code).toBe(EXIT.USAGE);
  });
});
