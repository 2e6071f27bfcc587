// The ports `init` fixes for an agent's listeners (DIDComm, API, a mediator's WebSocket), chosen
// below the system's ephemeral range. The agent binds such a port later, at every start, and its
// DIDs and invitations name it, so it must stay free while the agent is stopped: a port from the
// ephemeral range (what a bind to port 0 gives) is one the system hands out again to any other
// bind to port 0 and to the local end of any outgoing connection, and the agent's next start then
// fails with the address in use. Below the range only an explicit bind can take it.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Where the search starts: above the ports well-known services are configured on. */
export const LOWEST_CHOSEN_PORT = 20_000;
/** Candidates tried before giving up on the range below the ephemeral one. */
const TRIES = 64;

/** The first port of the ephemeral range (Linux's setting, else the IANA range's 49152). */
export function ephemeralLow(rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'): number {
  try {
    const low = Number(readFileSync(rangeFile, 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0 && low < 65_536) return low;
  } catch {
    // not Linux, or not readable: IANA's dynamic range
  }
  return 49_152;
}

/** Binds `port` on `host` and releases it: the port, or undefined when it is taken. */
function tryPort(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolveP, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolveP(undefined) : reject(err),
    );
    server.listen({ port, host, exclusive: true }, () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolveP(bound));
    });
  });
}

/**
 * A port free on `host` now, at random between LOWEST_CHOSEN_PORT and the ephemeral range; where
 * that range starts too low to leave room, or every try is taken, one the system gives (port 0).
 */
export async function freePort(host = '127.0.0.1', low = ephemeralLow()): Promise<number> {
  const span = low - LOWEST_CHOSEN_PORT;
  if (span >= TRIES) {
    for (let i = 0; i < TRIES; i++) {
      const port = await tryPort(host, LOWEST_CHOSEN_PORT + Math.floor(Math.random() * span));
      if (port !== undefined) return port;
    }
  }
  const port = await tryPort(host, 0);
  if (port === undefined) throw new Error(`no free port on ${host}`);
  return port;
}
