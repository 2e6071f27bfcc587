// Raw HTTP for the inbound-limit tests: requests written byte by byte on a socket of a chosen
// source address (any of 127.0.0.0/8 on loopback), held open half-sent, and their answers read
// as node's client would not (a 503 before the body, a 408 to a silent sender).
import { connect, type Socket } from 'node:net';

export const ENVELOPE_TYPE = 'application/didcomm-envelope-enc';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawRequest {
  socket: Socket;
  /** The answer, once the server wrote one and closed or completed it; undefined if it sent none. */
  answer: Promise<RawAnswer | undefined>;
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
}

const opened = new Set<Socket>();

/** Destroys every connection the tests opened and did not close. */
export function destroyAll(): void {
  for (const socket of opened) socket.destroy();
}

/** Opens a connection from `localAddress` to 127.0.0.1:`port` and writes `head` (request line and headers, no blank line). */
export async function open(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  opened.add(socket);
  socket.once('close', () => opened.delete(socket));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Reads what the server answers on `socket` until it closes the connection or the answer is complete. */
export function readAnswer(socket: Socket): RawRequest {
  const chunks: Buffer[] = [];
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const answer = new Promise<RawAnswer | undefined>((resolve) => {
    const tryParse = (final: boolean) => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) {
        if (final) resolve(undefined);
        return;
      }
      const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const body = text.slice(end + 4);
      const length = headers['content-length'];
      if (!final && (length === undefined || body.length < Number(length))) return;
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      tryParse(false);
    });
    socket.once('close', () => tryParse(true));
  });
  return { socket, answer, closed };
}

/** The head of a POST of the DIDComm media type. */
export function postHead(path: string, headers: Record<string, string | number>): string {
  const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', `Content-Type: ${ENVELOPE_TYPE}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

/** POSTs `body` (Content-Length) from `localAddress` and waits for the answer. */
export async function post(
  port: number,
  path: string,
  body: string | Buffer,
  localAddress = '127.0.0.1',
  contentType = ENVELOPE_TYPE,
): Promise<RawAnswer> {
  const socket = await open(port, localAddress);
  const request = readAnswer(socket);
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  socket.write(
    postHead(path, { 'Content-Length': bytes.length, Connection: 'close' }).replace(
      ENVELOPE_TYPE,
      contentType,
    ),
  );
  // Not half-closed: a node server ends a connection its client ended, answered or not.
  socket.write(bytes);
  const answer = await request.answer;
  socket.destroy();
  if (answer === undefined) throw new Error('no answer');
  return answer;
}

/** Starts a request whose body is still to come (Content-Length `declared`, or chunked when undefined). */
export async function hold(
  port: number,
  path: string,
  declared: number | undefined,
  localAddress = '127.0.0.1',
): Promise<RawRequest> {
  const socket = await open(port, localAddress);
  const request = readAnswer(socket);
  socket.write(
    postHead(
      path,
      declared === undefined ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': declared },
    ),
  );
  return request;
}

/** One chunk of a chunked body. */
export function chunk(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
}

/** Waits until `condition` holds, checking after every turn of the event loop's timers. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`never: ${what}`);
}
