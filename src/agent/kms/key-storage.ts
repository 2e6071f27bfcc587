/**
 * Where the KMS keeps its (already encrypted) entries. The vault only ever hands opaque bytes to a
 * `KmsKeyStorage`: private keys are encrypted before `put` and the storage never sees a
 * passphrase or a plaintext key. Any key/value store works: a Map, a file, a table row per id
 * (for example a TypeORM entity with a `varchar` primary key and a `blob`/`bytea` column).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface KmsKeyStorage {
  /** The bytes stored under `id`, or undefined if there are none. */
  get(id: string): Promise<Uint8Array | undefined>;
  /** Stores `value` under `id`, replacing what was there. Must be durable when it resolves. */
  put(id: string, value: Uint8Array): Promise<void>;
  /** Removes `id`. Resolves true if something was removed. */
  delete(id: string): Promise<boolean>;
}

/** A `KmsKeyStorage` in a Map (tests, ephemeral agents). Copies on the way in and out. */
export class InMemoryKmsKeyStorage implements KmsKeyStorage {
  private readonly entries = new Map<string, Uint8Array>();

  async get(id: string): Promise<Uint8Array | undefined> {
    const value = this.entries.get(id);
    return value === undefined ? undefined : value.slice();
  }

  async put(id: string, value: Uint8Array): Promise<void> {
    this.entries.set(id, value.slice());
  }

  async delete(id: string): Promise<boolean> {
    return this.entries.delete(id);
  }

  /** The raw stored entries (ids and bytes), for inspection in tests. */
  snapshot(): Map<string, Uint8Array> {
    return new Map([...this.entries].map(([id, value]) => [id, value.slice()]));
  }
}

/**
 * A `KmsKeyStorage` in one JSON file (`{ "<id>": "<base64>" }`), written atomically (temp file +
 * rename, mode 0600) on every change. Meant for a single process; the entries are ciphertext, so
 * the file is safe to back up but still private.
 */
export class JsonFileKmsKeyStorage implements KmsKeyStorage {
  private cache: Map<string, string> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly filePath: string) {}

  async get(id: string): Promise<Uint8Array | undefined> {
    const entries = await this.load();
    const value = entries.get(id);
    return value === undefined ? undefined : new Uint8Array(Buffer.from(value, 'base64'));
  }

  async put(id: string, value: Uint8Array): Promise<void> {
    const entries = await this.load();
    entries.set(id, Buffer.from(value).toString('base64'));
    await this.flush(entries);
  }

  async delete(id: string): Promise<boolean> {
    const entries = await this.load();
    const removed = entries.delete(id);
    if (removed) await this.flush(entries);
    return removed;
  }

  private async load(): Promise<Map<string, string>> {
    if (this.cache) return this.cache;
    let text: string | undefined;
    try {
      text = await fs.readFile(this.filePath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const entries = new Map<string, string>();
    if (text !== undefined) {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new Error(`key storage file ${this.filePath} is not a JSON object`);
      }
      for (const [id, value] of Object.entries(parsed)) {
        if (typeof value === 'string') entries.set(id, value);
      }
    }
    this.cache ??= entries;
    return this.cache;
  }

  private async flush(entries: Map<string, string>): Promise<void> {
    const json = JSON.stringify(Object.fromEntries(entries));
    const write = async (): Promise<void> => {
      await fs.mkdir(path.dirname(this.filePath), { recursive: true });
      const tmp = `${this.filePath}.${process.pid}.tmp`;
      const handle = await fs.open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(json, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, this.filePath);
    };
    // Serialise writes so an older snapshot never overwrites a newer one.
    const next = this.writing.then(write, write);
    this.writing = next.catch(() => undefined);
    await next;
  }
}
