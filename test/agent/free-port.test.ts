// The ports `init` fixes: free when chosen, and below the system's ephemeral range, where no bind
// to port 0 and no outgoing connection takes them while the agent is stopped.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ephemeralLow, freePort, LOWEST_CHOSEN_PORT } from '../../src/agent/node/free-port.js';

const canBind = (port: number) =>
  new Promise<boolean>((resolveP) => {
    const server = createServer();
    server.once('error', () => resolveP(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolveP(true)));
  });

test('ports are chosen below the ephemeral range, each free when chosen', async () => {
  const low = ephemeralLow();
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort('127.0.0.1')));
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(LOWEST_CHOSEN_PORT);
    expect(port).toBeLessThan(low);
    expect(await canBind(port)).toBe(true);
  }
  // random, not one port over and over
  expect(new Set(ports).size).toBeGreaterThan(10);
});

test('a range that leaves no room below it: a port the system gives', async () => {
  const port = await freePort('127.0.0.1', LOWEST_CHOSEN_PORT + 1);
  expect(port).toBeGreaterThan(0);
  expect(await canBind(port)).toBe(true);
});

test("the range's start is read from the system's setting, else IANA's 49152", () => {
  const dir = mkdtempSync(join(tmpdir(), 'perun-port-range-'));
  try {
    const file = join(dir, 'ip_local_port_range');
    writeFileSync(file, '40000\t60999\n');
    expect(ephemeralLow(file)).toBe(40_000);
    writeFileSync(file, 'garbage\n');
    expect(ephemeralLow(file)).toBe(49_152);
    expect(ephemeralLow(join(dir, 'missing'))).toBe(49_152);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
