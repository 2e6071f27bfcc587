// Where a sequential payment's time goes between two agent processes, from their stage marks
// (src/channels/stage-trace.ts; bench:didcomm --stages): the payer's and the payee's marks, one
// clock, are merged in time order; a payment is the stretch from the payer's `api.pay` to its
// `api.answer` with no other payment's request in between. The payments that passed the stages
// in the commonest order (the usual path; others, such as one whose store write took a deferred
// state along, are counted and left out) give each step's median and mean, and the step from
// the answer to the next payment's request (the REST client's turn, and the answer's way to it).
import { readFileSync } from 'node:fs';

export type Side = 'payer' | 'payee';

export interface Mark {
  side: Side;
  name: string;
  ns: bigint;
}

export interface StepFigure {
  step: string;
  p50_ms: number;
  mean_ms: number;
}

export interface StageFigures {
  /** Payments found in the window (each request answered before the next one came). */
  payments: number;
  /** Those on the commonest path, whose steps are below. */
  usual: number;
  steps: StepFigure[];
  /** The sum of the steps' medians: a payment from its request read to its answer written. */
  request_to_answer_p50_ms: number;
  /** From a payment's answer to the next payment's request, where the next came in the window. */
  answer_to_next: StepFigure | undefined;
}

/** The marks of a trace file (`name ns` lines) of one side. */
export function readMarks(file: string, side: Side): Mark[] {
  const marks: Mark[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [name, ns] = line.split(' ');
    if (name !== undefined && ns !== undefined && /^\d+$/.test(ns))
      marks.push({ side, name, ns: BigInt(ns) });
  }
  return marks;
}

const ms = (ns: bigint) => Number(ns) / 1e6;
const round = (x: number) => Number(x.toFixed(3));

function figure(step: string, values: number[]): StepFigure {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { step, p50_ms: round(sorted[Math.floor(sorted.length / 2)]!), mean_ms: round(mean) };
}

/** A mark as `side name`. */
export const tagOf = (m: Mark) => `${m.side} ${m.name}`;

/** The marks in [from, to] (ns of the monotonic clock), in time order. */
function within(marks: readonly Mark[], from: bigint, to: bigint): Mark[] {
  return marks
    .filter((m) => m.ns >= from && m.ns <= to)
    .sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
}

/** Where each payment is in `sorted`: its request read at `from`, its answer written at `to`. */
function spans(sorted: readonly Mark[]): { from: number; to: number }[] {
  const found: { from: number; to: number }[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (tagOf(sorted[i]!) !== 'payer api.pay') continue;
    let j = i + 1;
    while (j < sorted.length && !['payer api.pay', 'payer api.answer'].includes(tagOf(sorted[j]!))) j++;
    if (j < sorted.length && tagOf(sorted[j]!) === 'payer api.answer') found.push({ from: i, to: j });
  }
  return found;
}

/** The marks in [from, to] in time order, where each payment is in them, and each one's marks. */
function located(marks: readonly Mark[], from: bigint, to: bigint) {
  const sorted = within(marks, from, to);
  const found = spans(sorted);
  return { sorted, found, payments: found.map((s) => sorted.slice(s.from, s.to + 1)) };
}

/** Each payment's marks, from its request read to its answer written, of those in [from, to]. */
export function paymentsOf(marks: readonly Mark[], from: bigint, to: bigint): Mark[][] {
  return located(marks, from, to).payments;
}

/** The figures of the payments whose requests came in [from, to] (ns of the monotonic clock). */
export function stageFigures(marks: readonly Mark[], from: bigint, to: bigint): StageFigures {
  const { sorted, found, payments } = located(marks, from, to);
  const paths = new Map<string, Mark[][]>();
  for (const p of payments) {
    const path = p.map(tagOf).join(' > ');
    const same = paths.get(path);
    if (same === undefined) paths.set(path, [p]);
    else same.push(p);
  }
  const usual = [...paths.values()].sort((a, b) => b.length - a.length)[0] ?? [];
  const steps: StepFigure[] = [];
  const first = usual[0];
  if (first !== undefined) {
    for (let k = 1; k < first.length; k++) {
      steps.push(
        figure(
          `${tagOf(first[k - 1]!)} → ${tagOf(first[k]!)}`,
          usual.map((p) => ms(p[k]!.ns - p[k - 1]!.ns)),
        ),
      );
    }
  }
  const gaps: number[] = [];
  for (let i = 1; i < found.length; i++) {
    const answer = found[i - 1]!.to;
    const next = found[i]!.from;
    // A stretch with the payer's work in it (a deferred state's write) is not the client's turn.
    if (!sorted.slice(answer + 1, next).some((m) => m.side === 'payer'))
      gaps.push(ms(sorted[next]!.ns - sorted[answer]!.ns));
  }
  return {
    payments: payments.length,
    usual: usual.length,
    steps,
    request_to_answer_p50_ms: round(steps.reduce((a, s) => a + s.p50_ms, 0)),
    answer_to_next: gaps.length === 0 ? undefined : figure('payer api.answer → payer api.pay (next)', gaps),
  };
}

/** The figures as a table, one step a line. */
export function stageTable(f: StageFigures): string[] {
  const rows = [...f.steps, ...(f.answer_to_next === undefined ? [] : [f.answer_to_next])];
  const width = Math.max(...rows.map((r) => r.step.length));
  return [
    `where a sequential payment's time goes, step by step (${f.usual} of ${f.payments} payments on the usual path; p50 and mean, ms):`,
    ...rows.map(
      (r) =>
        `  ${r.step.padEnd(width)}  ${r.p50_ms.toFixed(3).padStart(7)}  ${r.mean_ms.toFixed(3).padStart(7)}`,
    ),
    `  sum of the p50s from request to answer: ${f.request_to_answer_p50_ms.toFixed(3)} ms`,
  ];
}
