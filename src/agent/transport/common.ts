// Shared pieces of the inbound DIDComm v1 transports (HTTP and WebSocket).
import { type AgentContext, type Logger } from '@credo-ts/core';
import { DidCommMimeType, DidCommModuleConfig, isValidJweStructure } from '@credo-ts/didcomm';
import type { DidCommEncryptedMessage } from '@credo-ts/didcomm';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/** Loopback unless the caller asks for something else. */
export const DEFAULT_HOST = '127.0.0.1';
/**
 * 8 MiB: a channel update is a few kB, a JSON-LD credential with attachments may be megabytes.
 * What bounds memory is the inbound byte budget (inbound-limits.ts), not this.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** Media types a DIDComm v1 envelope may be POSTed with (RFC 0044). */
export const DIDCOMM_CONTENT_TYPES: readonly string[] = [DidCommMimeType.V1, DidCommMimeType.V0];

/** Returns the bare media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const type = header.split(';', 1)[0]?.trim().toLowerCase();
  return type ? type : undefined;
}

export class MalformedEnvelopeError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'MalformedEnvelopeError';
  }
}

/**
 * Parses bytes received from a peer into a DIDComm v1 encrypted envelope (a JWE in the RFC 0019
 * shape). Plaintext messages are refused: over a network transport they carry no sender
 * authentication and Credo would dispatch them without a connection.
 */
export function parseEnvelope(raw: Buffer | string): DidCommEncryptedMessage {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (text.length === 0) throw new MalformedEnvelopeError('empty body');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MalformedEnvelopeError('body is not JSON');
  }
  if (!isValidJweStructure(parsed))
    throw new MalformedEnvelopeError('body is not a DIDComm encrypted envelope');
  const envelope = parsed as Record<string, unknown>;
  for (const field of ['protected', 'iv', 'ciphertext', 'tag'] as const) {
    if (typeof envelope[field] !== 'string')
      throw new MalformedEnvelopeError(`envelope field '${field}' is not a string`);
  }
  return parsed as DidCommEncryptedMessage;
}

/** Formats `scheme://host:port/path`, bracketing IPv6 literals. */
export function formatEndpoint(scheme: string, host: string, port: number, path: string): string {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${hostPart}:${port}${path === '/' ? '' : path}`;
}

export function normalisePath(path: string | undefined): string {
  if (!path || path === '/') return '/';
  return path.startsWith('/') ? path : `/${path}`;
}

/** Starts `server` listening on host:port; resolves with the bound port. */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Closes `server` and every connection it still holds (idle keep-alive ones included). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) {
      server.closeAllConnections();
      resolve();
      return;
    }
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/**
 * Adds or removes `endpoint` in the agent's DIDComm endpoint list (what goes into invitations and
 * DID documents). A transport bound to port 0 only knows its URL after it started.
 */
export function announceEndpoint(agentContext: AgentContext, endpoint: string): void {
  const config = agentContext.dependencyManager.resolve(DidCommModuleConfig);
  const current = explicitEndpoints(config);
  if (!current.includes(endpoint)) config.endpoints = [...current, endpoint];
}

export function withdrawEndpoint(agentContext: AgentContext, endpoint: string): void {
  const config = agentContext.dependencyManager.resolve(DidCommModuleConfig);
  config.endpoints = explicitEndpoints(config).filter((e) => e !== endpoint);
}

// Credo's getter returns the queue pseudo-endpoint when none is configured; that one is not ours to keep.
const QUEUE_ENDPOINT = 'didcomm:transport/queue';
function explicitEndpoints(config: DidCommModuleConfig): string[] {
  return config.endpoints.filter((e) => e !== QUEUE_ENDPOINT);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type { Logger };
