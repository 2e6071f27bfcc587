// The agent's one pool of kept-alive outbound sockets: a node:http and a node:https agent, made
// once per Credo agent (src/agent/credo/agent.ts) and handed to both of its ways to post to a
// peer, Credo's HTTP outbound (src/agent/credo/keep-alive-fetch.ts) and the lean path's carrier
// (./lean-outbound.ts), so a peer's endpoint is reached over the same sockets by both.
import http from 'node:http';
import https from 'node:https';

/** Idle sockets are closed before a node server's 5 s keep-alive timeout closes them under a request. */
export const IDLE_SOCKET_MS = 4_000;

export interface KeepAliveAgents {
  'http:': http.Agent;
  'https:': https.Agent;
}

/** A new pool: keep-alive agents for http: and https: endpoints. */
export function keepAliveAgents(): KeepAliveAgents {
  return {
    'http:': new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
    'https:': new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  };
}

/** Closes every socket of the pool (the agent shutting down); a later request opens new ones. */
export function closeKeepAliveAgents(agents: KeepAliveAgents): void {
  agents['http:'].destroy();
  agents['https:'].destroy();
}
