/**
 * Credo 0.6 `AgentDependencies` for Node without `@credo-ts/node` (not installable here at 0.6.3):
 * a fetch that posts DIDComm messages on the agent's kept-alive sockets (./keep-alive-fetch.ts;
 * the global fetch for anything else), the `ws` WebSocket class, node:events' EventEmitter and a small
 * FileSystem on node:fs.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentDependencies, DownloadToFileOptions, FileSystem } from '@credo-ts/core';
import WebSocket from 'ws';
import type { KeepAliveAgents } from '../transport/keep-alive-agents.js';
import { keepAliveFetch } from './keep-alive-fetch.js';

/** Credo's FileSystem on node:fs, rooted at `baseDir` (data/, cache/, tmp/ below it). */
export class NodeFileSystem implements FileSystem {
  readonly dataPath: string;
  readonly cachePath: string;
  readonly tempPath: string;

  constructor(baseDir: string = path.join(os.homedir(), '.perun-agent', 'credo')) {
    this.dataPath = path.join(baseDir, 'data');
    this.cachePath = path.join(baseDir, 'cache');
    this.tempPath = path.join(os.tmpdir(), 'perun-agent-credo');
  }

  async exists(filePath: string): Promise<boolean> {
    try {
      await fs.access(filePath);
      return true;
    } catch {
      return false;
    }
  }

  async createDirectory(dirPath: string): Promise<void> {
    await fs.mkdir(path.dirname(dirPath), { recursive: true });
  }

  async copyFile(sourcePath: string, destinationPath: string): Promise<void> {
    await fs.mkdir(path.dirname(destinationPath), { recursive: true });
    await fs.copyFile(sourcePath, destinationPath);
  }

  async write(filePath: string, data: string): Promise<void> {
    await fs.mkdir(path.dirname(filePath), { recursive: true });
    await fs.writeFile(filePath, data, 'utf8');
  }

  async read(filePath: string): Promise<string> {
    return fs.readFile(filePath, 'utf8');
  }

  async delete(filePath: string): Promise<void> {
    await fs.rm(filePath, { recursive: true, force: true });
  }

  async downloadToFile(url: string, filePath: string, options?: DownloadToFileOptions): Promise<void> {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`download of ${url} failed: HTTP ${response.status}`);
    const body = Buffer.from(await response.arrayBuffer());
    if (options?.verifyHash) {
      const digest = createHash(options.verifyHash.algorithm).update(body).digest();
      if (!digest.equals(options.verifyHash.hash)) throw new Error(`download of ${url}: hash mismatch`);
    }
    await fs.mkdir(path.dirname(filePath), { recursive: true });
    const tmp = `${filePath}.download`;
    await fs.writeFile(tmp, body);
    await fs.rename(tmp, filePath);
  }
}

/**
 * Agent dependencies whose FileSystem is rooted at `baseDir` (default ~/.perun-agent/credo), their
 * fetch posting on `sockets` (default a pool of its own).
 */
export function createAgentDependencies(baseDir?: string, sockets?: KeepAliveAgents): AgentDependencies {
  class RootedFileSystem extends NodeFileSystem {
    constructor() {
      super(baseDir);
    }
  }
  return {
    FileSystem: RootedFileSystem,
    EventEmitterClass: EventEmitter,
    fetch: keepAliveFetch(undefined, sockets),
    WebSocketClass: WebSocket,
  };
}

export const agentDependencies: AgentDependencies = createAgentDependencies();
