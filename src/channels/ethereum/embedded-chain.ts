// The embedded local Ethereum chain: owns an anvil child process started from code (binary from
// the @foundry-rs/anvil platform package, bound to loopback only), its funded dev accounts, a
// cached ethers provider, time travel / snapshot helpers, and the process's clean shutdown.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { HDNodeWallet, JsonRpcProvider, Mnemonic, Network, Wallet, toQuantity } from 'ethers';
import { PerunError } from '../errors.js';

export interface EmbeddedChainOptions {
  /** TCP port; 0 or absent picks a free port on the host. */
  port?: number;
  /** The only address anvil binds; default 127.0.0.1. */
  host?: string;
  /** Number of funded dev accounts; default 10. */
  accounts?: number;
  /** Balance of each dev account in ETH; default 10000. */
  balanceEth?: number;
  /** Default 31337. */
  chainId?: number;
  /** BIP-39 mnemonic the dev accounts derive from; default anvil's 'test test ... junk'. */
  mnemonic?: string;
  /** Seconds between blocks (interval mining); absent = a block per transaction (automine). */
  blockTime?: number;
  /** How long to wait for anvil to listen; default 20 s. */
  startTimeoutMs?: number;
}

export type EmbeddedChainErrorCode = 'START_TIMEOUT' | 'EXITED' | 'BINARY_NOT_FOUND' | 'RPC';

/** The chain did not start, died, or refused an RPC call; `details.stderr` holds anvil's stderr tail. */
export class EmbeddedChainError extends PerunError {
  declare readonly code: EmbeddedChainErrorCode;

  constructor(
    code: EmbeddedChainErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, details, options);
  }
}

export interface DevAccount {
  address: string;
  privateKey: string;
}

export const DEFAULT_MNEMONIC = 'test test test test test test test test test test test junk';
/** BIP-44 Ethereum path anvil derives its accounts under: account i is `${DERIVATION_PATH}/${i}`. */
const DERIVATION_PATH = "m/44'/60'/0'/0";
const DEFAULT_START_TIMEOUT_MS = 20_000;
const KILL_AFTER_MS = 2_000;
const PORT_ATTEMPTS = 5;
const STDERR_TAIL = 8_192;

/** The platform package names @foundry-rs/anvil uses (its const.mjs), by process.platform and arch. */
const PLATFORM_PACKAGES: Record<string, Record<string, string>> = {
  darwin: { x64: 'darwin-amd64', arm64: 'darwin-arm64' },
  linux: { x64: 'linux-amd64', arm64: 'linux-arm64' },
  win32: { x64: 'win32-amd64' },
};

/** Path of the anvil binary shipped in the platform package for this machine. */
export function anvilBinaryPath(): string {
  const suffix = PLATFORM_PACKAGES[process.platform]?.[process.arch];
  if (suffix === undefined) {
    throw new EmbeddedChainError(
      'BINARY_NOT_FOUND',
      `anvil has no package for ${process.platform}/${process.arch}`,
      {
        platform: process.platform,
        arch: process.arch,
      },
    );
  }
  const pkg = `@foundry-rs/anvil-${suffix}`;
  try {
    const manifest = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    return path.join(path.dirname(manifest), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
  } catch (err) {
    throw new EmbeddedChainError(
      'BINARY_NOT_FOUND',
      `${pkg} is not installed`,
      { package: pkg },
      { cause: err },
    );
  }
}

// Dev accounts by mnemonic, so that later chains in the same process skip the PBKDF2.
const derivedAccounts = new Map<string, DevAccount[]>();

/** Accounts 0..count-1 at m/44'/60'/0'/0/i, as anvil derives them. */
function deriveAccounts(mnemonic: string, count: number): DevAccount[] {
  let known = derivedAccounts.get(mnemonic);
  if (known === undefined || known.length < count) {
    const root = HDNodeWallet.fromPhrase(mnemonic, undefined, DERIVATION_PATH);
    known = [];
    for (let i = 0; i < count; i++) {
      const w = root.deriveChild(i);
      known.push({ address: w.address, privateKey: w.privateKey });
    }
    derivedAccounts.set(mnemonic, known);
  }
  return known.slice(0, count);
}

// Chains still running when Node exits are killed; 'exit' handlers must be synchronous.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  running.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
}

/** A port that was free on `host` a moment ago (the OS picks it). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

interface Spawned {
  child: ChildProcess;
  port: number;
  stderr: () => string;
}

/** Spawns anvil and resolves once it prints its "Listening on" line. */
function spawnAnvil(binary: string, args: string[], timeoutMs: number): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      reject(new EmbeddedChainError('BINARY_NOT_FOUND', `cannot run ${binary}`, { binary }, { cause: err }));
      return;
    }
    let stdout = '';
    let stderr = '';
    let settled = false;
    const tail = () => stderr;
    const finish = (err: EmbeddedChainError | null, port = 0) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err !== null) {
        child.kill('SIGKILL');
        reject(err);
      } else {
        stdout = '';
        resolve({ child, port, stderr: tail });
      }
    };
    // stdout stays drained for the chain's whole life: anvil logs every request there and would
    // block on a full pipe.
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      if (settled) return;
      stdout += chunk;
      const m = /Listening on (\S+):(\d+)/.exec(stdout);
      if (m) finish(null, Number(m[2]));
      else if (stdout.length > 65_536) stdout = stdout.slice(-1024);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code === 'ENOENT' || err.code === 'EACCES' ? 'BINARY_NOT_FOUND' : 'EXITED';
      finish(
        new EmbeddedChainError(
          code,
          `cannot run anvil (${err.code ?? err.message})`,
          { binary },
          { cause: err },
        ),
      );
    });
    child.once('exit', (code, signal) => {
      finish(
        new EmbeddedChainError(
          'EXITED',
          `anvil exited before listening (${signal ?? `code ${code}`}): ${stderr.trim()}`,
          {
            exitCode: code,
            signal,
            stderr,
          },
        ),
      );
    });
    const timer = setTimeout(
      () =>
        finish(
          new EmbeddedChainError(
            'START_TIMEOUT',
            `anvil did not listen within ${timeoutMs} ms: ${stderr.trim()}`,
            {
              timeoutMs,
              stderr,
            },
          ),
        ),
      timeoutMs,
    );
  });
}

export class EmbeddedChain {
  /** http://HOST:PORT */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly chainId: bigint;
  readonly network: Network;
  /** The funded dev accounts, in anvil's order (eth_accounts). */
  readonly accounts: readonly DevAccount[];

  private readonly child: ChildProcess;
  private readonly stderrTail: () => string;
  private readonly exited: Promise<void>;
  private cachedProvider: JsonRpcProvider | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(host: string, spawned: Spawned, chainId: bigint, accounts: DevAccount[]) {
    this.host = host;
    this.port = spawned.port;
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${spawned.port}`;
    this.chainId = chainId;
    this.network = Network.from(chainId);
    this.accounts = Object.freeze(accounts.map((a) => Object.freeze(a)));
    this.child = spawned.child;
    this.stderrTail = spawned.stderr;
    this.exited = new Promise((resolve) => {
      const gone = () => {
        running.delete(this.child);
        resolve();
      };
      if (this.child.exitCode !== null || this.child.signalCode !== null) gone();
      else this.child.once('exit', gone);
    });
  }

  /** Starts anvil and resolves once it serves JSON-RPC with the expected chain ID and accounts. */
  static async start(options: EmbeddedChainOptions = {}): Promise<EmbeddedChain> {
    const host = options.host ?? '127.0.0.1';
    const count = options.accounts ?? 10;
    const balanceEth = options.balanceEth ?? 10_000;
    const chainId = options.chainId ?? 31337;
    const mnemonic = options.mnemonic ?? DEFAULT_MNEMONIC;
    const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const binary = anvilBinaryPath();
    const fixedPort = options.port !== undefined && options.port !== 0;

    // A bad mnemonic fails here (checksum only, cheap), before anything is spawned.
    Mnemonic.fromPhrase(mnemonic);

    let accounts: DevAccount[] | undefined;
    let spawned: Spawned | undefined;
    for (let attempt = 1; spawned === undefined; attempt++) {
      const port = fixedPort ? options.port! : await freePort(host);
      // prettier-ignore
      const args = [
        '--host', host,
        '--port', String(port),
        '--accounts', String(count),
        '--balance', String(balanceEth),
        '--chain-id', String(chainId),
        '--mnemonic', mnemonic,
      ];
      if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime));
      const pending = spawnAnvil(binary, args, timeoutMs);
      if (accounts === undefined) {
        // Key derivation (~80 ms of PBKDF2 and secp256k1 on first use) runs while anvil boots.
        try {
          accounts = deriveAccounts(mnemonic, count);
        } catch (err) {
          void pending.then(
            (s) => s.child.kill('SIGKILL'),
            () => undefined,
          );
          throw err;
        }
      }
      try {
        spawned = await pending;
      } catch (err) {
        // Another process took the port between our probe and anvil's bind: probe again.
        const raced =
          err instanceof EmbeddedChainError &&
          err.code === 'EXITED' &&
          /address already in use|os error 98|os error 48|10048/i.test(String(err.details.stderr));
        if (!raced || fixedPort || attempt >= PORT_ATTEMPTS) throw err;
      }
    }
    trackChild(spawned.child);
    // A forgotten chain must not keep Node alive; the exit hook then kills it.
    spawned.child.unref();
    for (const s of [spawned.child.stdout, spawned.child.stderr])
      (s as unknown as { unref?: () => void }).unref?.();

    const chain = new EmbeddedChain(host, spawned, BigInt(chainId), accounts!);
    try {
      const [remoteChainId, remoteAccounts] = await Promise.all([
        chain.rpc<string>('eth_chainId', []),
        chain.rpc<string[]>('eth_accounts', []),
      ]);
      if (BigInt(remoteChainId) !== chain.chainId) {
        throw new EmbeddedChainError(
          'RPC',
          `anvil reports chain ID ${BigInt(remoteChainId)}, expected ${chainId}`,
        );
      }
      const derived = chain.accounts.map((a) => a.address.toLowerCase());
      const reported = remoteAccounts.map((a) => a.toLowerCase());
      if (derived.length !== reported.length || derived.some((a, i) => a !== reported[i])) {
        throw new EmbeddedChainError('RPC', 'derived accounts do not match eth_accounts', {
          derived,
          reported,
        });
      }
    } catch (err) {
      await chain.stop();
      throw err;
    }
    return chain;
  }

  /** One shared provider for the chain, with its network fixed and fast polling. */
  provider(): JsonRpcProvider {
    if (this.cachedProvider === undefined) {
      this.cachedProvider = new JsonRpcProvider(this.url, this.network, {
        staticNetwork: this.network,
        pollingInterval: 20,
        // No 250 ms response sharing: after a revert or a time jump a read must see the new state.
        cacheTimeout: -1,
        // Loopback needs no batching delay.
        batchStallTime: 0,
      });
    }
    return this.cachedProvider;
  }

  /** Dev account i as a wallet connected to the shared provider. */
  wallet(i: number): Wallet {
    const account = this.accounts[i];
    if (account === undefined) throw new RangeError(`no dev account ${i} (have ${this.accounts.length})`);
    return new Wallet(account.privateKey, this.provider());
  }

  /** A raw JSON-RPC call; failures become EmbeddedChainError('RPC'). */
  async rpc<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    try {
      return (await this.provider().send(method, params)) as T;
    } catch (err) {
      throw new EmbeddedChainError(
        'RPC',
        `${method} failed: ${(err as Error)?.message ?? String(err)}`,
        { method, stderr: this.stderrTail() },
        { cause: err },
      );
    }
  }

  /** Moves the clock forward and mines a block carrying the new time. */
  async increaseTime(seconds: number | bigint): Promise<void> {
    await this.rpc('evm_increaseTime', [toQuantity(seconds)]);
    await this.rpc('evm_mine', []);
  }

  /** Fixes the timestamp (seconds) of the next mined block. */
  async setNextBlockTimestamp(timestamp: number | bigint): Promise<void> {
    await this.rpc('evm_setNextBlockTimestamp', [toQuantity(timestamp)]);
  }

  async mine(blocks: number = 1): Promise<void> {
    await this.rpc('anvil_mine', [toQuantity(blocks)]);
  }

  async latestTimestamp(): Promise<bigint> {
    const block = await this.rpc<{ timestamp: string } | null>('eth_getBlockByNumber', ['latest', false]);
    if (block === null) throw new EmbeddedChainError('RPC', 'no latest block');
    return BigInt(block.timestamp);
  }

  /** Snapshots the chain state; `revert(id)` returns to it (and consumes the snapshot). */
  async snapshot(): Promise<string> {
    return this.rpc<string>('evm_snapshot', []);
  }

  async revert(id: string): Promise<void> {
    const ok = await this.rpc<boolean>('evm_revert', [id]);
    if (ok !== true)
      throw new EmbeddedChainError('RPC', `evm_revert(${id}) failed: unknown snapshot`, { id });
  }

  /** On: a block per transaction. Off: transactions wait for `mine()` (or the block time). */
  async setAutomine(on: boolean): Promise<void> {
    await this.rpc('evm_setAutomine', [on]);
  }

  /** Stops anvil: SIGTERM, SIGKILL after 2 s. Idempotent. */
  stop(): Promise<void> {
    if (this.stopping === undefined) {
      this.cachedProvider?.destroy();
      this.cachedProvider = undefined;
      this.stopping = (async () => {
        if (this.child.exitCode === null && this.child.signalCode === null) {
          this.child.kill('SIGTERM');
          const timer = setTimeout(() => this.child.kill('SIGKILL'), KILL_AFTER_MS);
          await this.exited;
          clearTimeout(timer);
        }
        running.delete(this.child);
      })();
    }
    return this.stopping;
  }
}
