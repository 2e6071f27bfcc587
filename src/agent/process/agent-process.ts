// Agents as separate processes, for the demo, the benchmarks and end-to-end tests: each runs
// `perun-agent start` from the build (dist/) on its own data directory, ports on 127.0.0.1; the
// caller talks to it over its REST API and follows its event stream. The passphrase reaches it on
// a pipe (`--passphrase-fd 3`), not in its environment. Every process started here
// is stopped again by stopAllProcesses (SIGTERM, then SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initAgent, type AgentConfigFile } from '../node/config.js';
import type { AgentInfo, ConnectionView, InvitationView, NodeEventWithId } from '../node/types.js';

/** The built CLI: beside this module in dist/, or dist/ of the working directory when run from sources. */
export function cliPath(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.js') ? join(dirname(here), '../cli/main.js') : resolve('dist/src/agent/cli/main.js');
}

const running = new Set<ChildProcess>();

/** This process's environment without the secrets an agent must not inherit. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.PERUN_PASSPHRASE;
  delete env.PERUN_API_TOKEN;
  return env;
}

export interface ApiFailure {
  status: number;
  body: { category: string; code: string; message: string; details: Record<string, unknown> };
  /** The Retry-After header, if the answer had one. */
  retryAfter?: string | null;
}

/** A REST call on `apiUrl` with `token`; resolves with the JSON body on 2xx, rejects with { status, body } otherwise. */
function apiCaller(apiUrl: string, token: string) {
  return async <T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> => {
    const res = await fetch(apiUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text === '' ? undefined : (JSON.parse(text) as unknown);
    if (!res.ok)
      throw { status: res.status, body: json, retryAfter: res.headers.get('retry-after') } as ApiFailure;
    return json as T;
  };
}

/** The line `start --announce-starting --json` writes once its API lists the stored channels, if `line` is it. */
function startingLine(line: string): { apiUrl: string; tokenFile: string } | undefined {
  try {
    const v = JSON.parse(line) as { starting?: unknown; apiUrl: string; tokenFile: string };
    return v.starting === true ? v : undefined;
  } catch {
    return undefined; // the first line of the ready value
  }
}

/** An agent whose API serves the starting view (AgentProcess.startEarly). */
export interface StartingAgent {
  apiUrl: string;
  token: string;
  api: ReturnType<typeof apiCaller>;
  /** The agent once its node runs. */
  ready: Promise<AgentProcess>;
}

export class AgentProcess {
  #stderr: string[] = [];
  private constructor(
    readonly name: string,
    readonly dataDir: string,
    readonly passphrase: string,
    readonly child: ChildProcess,
    readonly apiUrl: string,
    readonly token: string,
    readonly info: AgentInfo,
    stderr: string[],
    readonly env: Record<string, string>,
  ) {
    this.#stderr = stderr;
  }

  /**
   * Starts `perun-agent start --json` on `dataDir` and resolves once it serves its API. `env` is
   * added to this process's environment (e.g. the fault-test knobs of node/test-knobs.ts).
   */
  static async start(
    name: string,
    dataDir: string,
    passphrase: string,
    env: Record<string, string> = {},
  ): Promise<AgentProcess> {
    return AgentProcess.#spawn(name, dataDir, passphrase, env, false).ready;
  }

  /**
   * Starts it with `--announce-starting`: resolves once its API lists the stored channels, before
   * the node runs (every other route answers 503 NODE_STARTING until then); `ready` resolves once
   * it runs. Without a starting view (nothing stored yet), with the running agent.
   */
  static async startEarly(
    name: string,
    dataDir: string,
    passphrase: string,
    env: Record<string, string> = {},
  ): Promise<StartingAgent> {
    const spawned = AgentProcess.#spawn(name, dataDir, passphrase, env, true);
    const starting = await Promise.race([spawned.starting, spawned.ready]);
    if (starting instanceof AgentProcess) return { ...starting.#endpoint(), ready: spawned.ready };
    const token = readFileSync(starting.tokenFile, 'utf8').trim();
    return { apiUrl: starting.apiUrl, token, api: apiCaller(starting.apiUrl, token), ready: spawned.ready };
  }

  #endpoint(): Omit<StartingAgent, 'ready'> {
    return { apiUrl: this.apiUrl, token: this.token, api: apiCaller(this.apiUrl, this.token) };
  }

  /** Spawns the agent; `starting` resolves with its first line under `--announce-starting`. */
  static #spawn(
    name: string,
    dataDir: string,
    passphrase: string,
    env: Record<string, string>,
    early: boolean,
  ): { starting: Promise<{ apiUrl: string; tokenFile: string }>; ready: Promise<AgentProcess> } {
    const cli = cliPath();
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build (npm test does)`);
    const nodeArgs = process.env['PERUN_AGENT_NODE_ARGS']?.split(' ').filter((a) => a !== '') ?? [];
    // The passphrase goes through a pipe (fd 3), never the environment, which children inherit.
    const child = spawn(
      process.execPath,
      [
        ...nodeArgs,
        cli,
        'start',
        '--data-dir',
        dataDir,
        '--json',
        '--passphrase-fd',
        '3',
        ...(early ? ['--announce-starting'] : []),
      ],
      { env: { ...childEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] },
    );
    (child.stdio[3] as Writable).end(`${passphrase}\n`);
    running.add(child);
    child.once('exit', () => running.delete(child));
    const stderr: string[] = [];
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr.push(d);
      if (stderr.length > 200) stderr.shift();
    });
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) =>
        reject(new Error(`${name} exited (${code}) before it was ready:\n${stderr.join('')}`)),
      ),
    );
    exited.catch(() => undefined);
    let announced!: (v: { apiUrl: string; tokenFile: string }) => void;
    const starting = new Promise<{ apiUrl: string; tokenFile: string }>((r) => (announced = r));
    const readyLine = new Promise<{ apiUrl: string; tokenFile: string; info: AgentInfo }>((resolveP) => {
      let out = '';
      let awaitingStart = early;
      // With --announce-starting, a first line once the API lists the stored channels; then one
      // JSON value (possibly over several lines) once the agent is ready.
      const onData = (d: string) => {
        out += d;
        if (awaitingStart) {
          const end = out.indexOf('\n');
          if (end < 0) return;
          const first = startingLine(out.slice(0, end));
          if (first !== undefined) {
            announced(first);
            out = out.slice(end + 1);
          }
          awaitingStart = false;
        }
        let value: unknown;
        try {
          value = JSON.parse(out);
        } catch {
          return;
        }
        child.stdout!.off('data', onData);
        resolveP(value as { apiUrl: string; tokenFile: string; info: AgentInfo });
      };
      child.stdout!.setEncoding('utf8').on('data', onData);
    });
    const ready = Promise.race([readyLine, exited]).then((r) => {
      // With --json a failed start prints its error as the one JSON value: no token file named.
      if (typeof r?.tokenFile !== 'string')
        throw new Error(`${name} did not start: ${JSON.stringify(r)}\n${stderr.join('')}`);
      const token = readFileSync(r.tokenFile, 'utf8').trim();
      return new AgentProcess(name, dataDir, passphrase, child, r.apiUrl, token, r.info, stderr, env);
    });
    const startingOrExit = Promise.race([starting, exited]);
    startingOrExit.catch(() => undefined); // a process that never announces is told by `ready`
    return { starting: startingOrExit, ready };
  }

  /** A REST call; resolves with the JSON body on 2xx, rejects with { status, body } otherwise. */
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    return apiCaller(this.apiUrl, this.token)<T>(method, path, body, headers);
  }

  /** Resolves with the first event on the stream that matches (subscribed before `trigger` runs). */
  async event<T extends NodeEventWithId>(
    match: (e: NodeEventWithId) => boolean,
    trigger?: () => Promise<unknown>,
  ): Promise<T> {
    const abort = new AbortController();
    const res = await fetch(`${this.apiUrl}/events`, {
      headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' },
      signal: abort.signal,
    });
    if (!res.ok || res.body === null) throw new Error(`no event stream from ${this.name}: ${res.status}`);
    const found = (async () => {
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`${this.name}'s event stream ended`);
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n');
          if (data === '') continue;
          const e = JSON.parse(data) as NodeEventWithId;
          if (match(e)) return e as T;
        }
      }
    })();
    try {
      if (trigger !== undefined) await trigger();
      return await found;
    } finally {
      abort.abort();
      found.catch(() => undefined);
    }
  }

  /** SIGTERM and wait for the exit; the agent shuts down cleanly (exit code 0). */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((r) => this.child.once('exit', (code) => r(code)));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The same agent started again from its data directory. */
  restart(): Promise<AgentProcess> {
    return this.stop().then(() => AgentProcess.start(this.name, this.dataDir, this.passphrase, this.env));
  }

  get stderr(): string {
    return this.#stderr.join('');
  }
}

/** `invitee` accepts an invitation of `inviter`; its side of the connection, once ready. */
export async function connectAgents(inviter: AgentProcess, invitee: AgentProcess): Promise<ConnectionView> {
  const invitation = await inviter.api<InvitationView>('POST', '/invitations');
  return invitee.api<ConnectionView>('POST', '/connections', { invitationUrl: invitation.url });
}

/**
 * A new agent data directory below `root`, its passphrase derived from the name: for demos,
 * benchmarks and tests, which also lower the key-derivation cost.
 */
export async function initAgentDir(
  root: string,
  name: string,
  overrides: Partial<AgentConfigFile> = {},
): Promise<{ dataDir: string; address: string; passphrase: string }> {
  const dataDir = join(root, name.toLowerCase());
  const passphrase = `${name} passphrase`;
  const r = await initAgent({ dataDir, label: name, passphrase, scrypt: { N: 2 ** 14 }, overrides });
  return { dataDir, address: r.address, passphrase };
}

/** Stops every agent process still running (for afterAll). */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((r) => {
          if (child.exitCode !== null) return r();
          child.once('exit', () => r());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
}
