// Knobs for fault tests of whole agent processes, off unless their environment variables are set.
// PERUN_FAILPOINTS_FILE names a file; when the channel client reaches the failpoint written in it
// (client.ts Failpoint, e.g. `accept-persisted`, or `accept-persisted 2` for the second time it is
// reached), the agent removes the file and kills itself with SIGKILL: a crash at an exact step;
// `<point> hold` holds the client at that step until the file says something else. PERUN_SIGNATURE_JOURNAL names a file where the
// client's signer records every state it signs (EquivocationGuard): across restarts it refuses a
// second, different state with a version it signed, and records the refusal for the test to find.
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Failpoint } from '../../channels/client.js';
import { EquivocationGuard, type SignatureJournal } from '../../channels/equivocation.js';
import type { Signer } from '../../channels/interfaces.js';

/** One line of a signature journal file. */
export type JournalLine = { key: string; digest: string; refused?: true };

/** A signature journal in a file of JSON lines, read back on start; each line is written before signing. */
export class FileSignatureJournal implements SignatureJournal {
  readonly #entries = new Map<string, string>();

  constructor(readonly path: string) {
    for (const line of readJournal(path)) if (line.refused !== true) this.#entries.set(line.key, line.digest);
  }

  get(key: string): string | undefined {
    return this.#entries.get(key);
  }

  record(key: string, digest: string): void {
    this.#append({ key, digest });
    this.#entries.set(key, digest);
  }

  refused(key: string, digest: string): void {
    this.#append({ key, digest, refused: true });
  }

  #append(line: JournalLine): void {
    appendFileSync(this.path, JSON.stringify(line) + '\n');
  }
}

/** The lines of a journal file (none if it does not exist). */
export function readJournal(path: string): JournalLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as JournalLine);
}

export interface TestKnobs {
  failpoint?: (point: Failpoint) => void | Promise<void>;
  wrapSigner: (signer: Signer) => Signer;
}

/** The knobs the environment asks for. */
export function testKnobs(env: NodeJS.ProcessEnv = process.env): TestKnobs {
  const failFile = env['PERUN_FAILPOINTS_FILE'];
  const journal = env['PERUN_SIGNATURE_JOURNAL'];
  return {
    ...(failFile
      ? {
          failpoint: async (point: Failpoint) => {
            if (!existsSync(failFile)) return;
            const armedText = readFileSync(failFile, 'utf8').trim();
            const [armed, nth = '1'] = armedText.split(/\s+/);
            if (armed !== point) return;
            if (nth === 'hold') {
              // Wait here until the test writes something else into the file.
              while (existsSync(failFile) && readFileSync(failFile, 'utf8').trim() === armedText) {
                await new Promise((r) => setTimeout(r, 10));
              }
              return;
            }
            const left = Number(nth) - 1;
            if (left > 0) {
              writeFileSync(failFile, `${point} ${left}`);
              return;
            }
            rmSync(failFile, { force: true });
            process.kill(process.pid, 'SIGKILL');
          },
        }
      : {}),
    wrapSigner: (signer) =>
      journal ? new EquivocationGuard(signer, new FileSignatureJournal(journal)) : signer,
  };
}

/**
 * PERUN_START_GATE_FILE: while the file it names exists, the agent's start waits once its starting
 * API listens (./starting-api.ts), before the node is loaded: a test sees that view for as long as
 * it needs. Resolves at once when the variable is not set.
 */
export async function startGate(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const gate = env['PERUN_START_GATE_FILE'];
  if (gate === undefined || gate === '') return;
  while (existsSync(gate)) await new Promise((r) => setTimeout(r, 10));
}
