// The passphrase of `init` and `start`, read once: from `--passphrase-file` (refused when group or
// others may read or write it, as ssh refuses such a key file), from `--passphrase-fd N` (its first
// line; `0` is stdin: for long-running agents, the unlock that is no environment variable), from
// PERUN_PASSPHRASE (then removed from the environment, so no child process inherits it), or asked
// on the terminal.
import { createReadStream, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CliIo } from './context.js';
import { usageError } from './output.js';

export interface PassphraseSources {
  /** `--passphrase-file`, relative to `cwd`. */
  file?: string;
  /** `--passphrase-fd`, as given. */
  fd?: string;
}

/** Longest passphrase line read from a file descriptor. */
const MAX_FD_LINE = 4096;

/** The first line read from file descriptor `fd` (up to its end, or MAX_FD_LINE characters). */
function readLine(fd: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = createReadStream('', { fd, encoding: 'utf8', autoClose: fd > 2 });
    let text = '';
    const done = () => {
      stream.off('data', onData);
      if (fd > 2) stream.destroy();
      else stream.pause();
      resolve(text.split(/\r?\n/)[0]!);
    };
    const onData = (chunk: string | Buffer) => {
      text += String(chunk);
      if (text.includes('\n') || text.length > MAX_FD_LINE) done();
    };
    stream.on('data', onData);
    stream.once('end', done);
    stream.once('error', reject);
  });
}

function fromFile(file: string, cwd: string): string {
  const where = path.resolve(cwd, file);
  const unreadable = (err: unknown) =>
    usageError('PASSPHRASE_FILE', `cannot read the passphrase file ${file}: ${(err as Error).message}`);
  let mode: number;
  try {
    mode = statSync(where).mode & 0o777;
  } catch (err) {
    throw unreadable(err);
  }
  if ((mode & 0o077) !== 0) {
    throw usageError(
      'PASSPHRASE_FILE_PERMISSIONS',
      `the passphrase file ${file} is open to others (mode ${mode.toString(8)}): chmod 600 ${file}`,
      { mode: mode.toString(8) },
    );
  }
  try {
    return readFileSync(where, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw unreadable(err);
  }
}

async function fromFd(fd: string): Promise<string> {
  if (!/^\d{1,9}$/.test(fd))
    throw usageError('PASSPHRASE_FD', `--passphrase-fd: not a file descriptor: ${fd}`);
  try {
    return await readLine(Number(fd));
  } catch (err) {
    throw usageError('PASSPHRASE_FD', `cannot read the passphrase from fd ${fd}: ${(err as Error).message}`);
  }
}

/** The passphrase from the first source given (see the header); removes PERUN_PASSPHRASE from `env`. */
export async function readPassphrase(
  deps: { io: CliIo; env: NodeJS.ProcessEnv; cwd: string },
  sources: PassphraseSources,
  confirm: boolean,
): Promise<string> {
  const { io, env, cwd } = deps;
  const fromEnv = env.PERUN_PASSPHRASE;
  delete env.PERUN_PASSPHRASE;
  let passphrase: string;
  if (sources.file !== undefined) {
    passphrase = fromFile(sources.file, cwd);
  } else if (sources.fd !== undefined) {
    passphrase = await fromFd(sources.fd);
  } else if (fromEnv) {
    passphrase = fromEnv;
  } else if (io.promptSecret !== undefined) {
    passphrase = await io.promptSecret('Passphrase: ');
    if (confirm && passphrase !== '' && (await io.promptSecret('Repeat the passphrase: ')) !== passphrase) {
      throw usageError('PASSPHRASE_MISMATCH', 'the passphrases differ');
    }
  } else {
    throw usageError(
      'NO_PASSPHRASE',
      'no passphrase: give --passphrase-file <path> or PERUN_PASSPHRASE, or run on a terminal to be asked' +
        ' (or --passphrase-fd 0 to read it from stdin)',
    );
  }
  if (passphrase === '') throw usageError('NO_PASSPHRASE', 'the passphrase must not be empty');
  return passphrase;
}
