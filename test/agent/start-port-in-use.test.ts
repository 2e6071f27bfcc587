// Alice starts her agent while another program holds the DIDComm port her `init` fixed: the start
// fails, and its error names what Credo met underneath (the address in use), not only Credo's
// "error during call to 'initialize'".
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentProcess, initAgentDir, stopAllProcesses } from '../../src/agent/process/agent-process.js';

let root: string;
let holder: Server | undefined;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'perun-port-in-use-'));
});

afterAll(async () => {
  await new Promise((r) => (holder === undefined ? r(undefined) : holder.close(r)));
  await stopAllProcesses();
  rmSync(root, { recursive: true, force: true });
});

test('a start whose DIDComm port is taken fails with the cause: the address in use', async () => {
  const alice = await initAgentDir(root, 'Alice');
  const config = JSON.parse(readFileSync(join(alice.dataDir, 'config.json'), 'utf8')) as {
    didcommPort: number;
  };
  holder = createServer();
  await new Promise<void>((r) => holder!.listen(config.didcommPort, '127.0.0.1', r));

  const started = AgentProcess.start('Alice', alice.dataDir, alice.passphrase);
  await expect(started).rejects.toThrow(`address already in use 127.0.0.1:${config.didcommPort}`);
  await expect(started).rejects.toThrow('"code":"INTERNAL"');
});
