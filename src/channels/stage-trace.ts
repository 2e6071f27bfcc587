// Stage marks along a payment's path, for finding where its time goes (bench:didcomm --stages):
// each layer marks the moment a payment passes a stage (the REST request read, the state signed,
// the store's commit begun and done, the envelope packed and written, ...). Off unless the
// environment names a file in PERUN_STAGE_TRACE: then every mark is kept in memory, as its name
// and the monotonic clock in ns (the same clock in every process of the machine, so two agents'
// marks line up), and appended to that file, one `name ns` line each, whenever the buffer fills
// and when the process exits. Off, a mark is a call of an empty function.
import { appendFileSync } from 'node:fs';

/** The stages, in the order a payment passes them on each side. */
export type StageName =
  | 'api.pay' // payer: the payment's REST request is read
  | 'pay.signed' // payer: the update's state signed
  | 'store.begin' // either: a store transaction begins (SQLite's; PostgreSQL's are not marked)
  | 'store.commit' // either: its statements done, COMMIT (with the fsync) begins
  | 'store.committed' // either: COMMIT returned
  | 'lean.send' // either: a channel message goes to the lean path
  | 'lean.write' // either: its envelope is packed, handed to the transport
  | 'lean.receive' // either: an envelope came in to the lean path
  | 'lean.opened' // either: it is decrypted and parsed
  | 'lean.deliver' // either: decoded, handed to the channel client
  | 'update.verified' // payee: the payer's signature checked
  | 'update.signed' // payee: the state countersigned
  | 'accept.verified' // payer: the payee's signature checked and added
  | 'api.answer'; // payer: the REST answer is written

const CAPACITY = 16_384;

function recorder(file: string): (name: StageName) => void {
  const names: StageName[] = [];
  const times: bigint[] = [];
  const flush = () => {
    if (names.length === 0) return;
    appendFileSync(file, names.map((n, i) => `${n} ${times[i]}\n`).join(''));
    names.length = 0;
    times.length = 0;
  };
  process.on('exit', flush);
  return (name) => {
    names.push(name);
    times.push(process.hrtime.bigint());
    if (names.length >= CAPACITY) flush();
  };
}

const traceFile = process.env['PERUN_STAGE_TRACE'];

/** Marks that a payment passes `name` now (recorded only where PERUN_STAGE_TRACE names a file). */
export const stage: (name: StageName) => void =
  traceFile === undefined || traceFile === '' ? () => undefined : recorder(traceFile);
