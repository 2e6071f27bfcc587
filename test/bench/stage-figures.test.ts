// The step figures of bench:didcomm --stages (bench/stages.ts) from marks made up here: payments
// are the stretches from the payer's request to its answer; one that passed a stage more (a
// deferred state written along) is counted but not in the steps; requests answered after the next
// one came (batched) and marks outside the window are no payments of the figures.
import { stageFigures, type Mark, type Side } from '../../bench/stages.js';

const ms = (x: number) => BigInt(Math.round(x * 1e6));

/** A payment's marks: [side, name, ms after `at`] each. */
function payment(at: number, steps: [Side, string, number][]): Mark[] {
  return steps.map(([side, name, t]) => ({ side, name, ns: ms(at + t) }));
}

const usual = (at: number, verify: number): Mark[] =>
  payment(at, [
    ['payer', 'api.pay', 0],
    ['payer', 'lean.write', 0.5],
    ['payee', 'update.verified', 0.5 + verify],
    ['payer', 'api.answer', 2],
  ]);

it('Alice pays three times on the usual path: the steps are their medians and means', () => {
  const marks = [...usual(0, 0.1), ...usual(10, 0.3), ...usual(20, 0.2)];
  const f = stageFigures(marks, 0n, ms(100));
  expect(f.payments).toBe(3);
  expect(f.usual).toBe(3);
  expect(f.steps).toEqual([
    { step: 'payer api.pay → payer lean.write', p50_ms: 0.5, mean_ms: 0.5 },
    { step: 'payer lean.write → payee update.verified', p50_ms: 0.2, mean_ms: 0.2 },
    { step: 'payee update.verified → payer api.answer', p50_ms: 1.3, mean_ms: 1.3 },
  ]);
  expect(f.request_to_answer_p50_ms).toBe(2);
  // From each answer (2, 12) to the next request (10, 20).
  expect(f.answer_to_next).toEqual({
    step: 'payer api.answer → payer api.pay (next)',
    p50_ms: 8,
    mean_ms: 8,
  });
});

it('a payment with a store write more is counted, not in the steps; a gap with marks is no gap', () => {
  const extra = payment(10, [
    ['payer', 'api.pay', 0],
    ['payer', 'store.begin', 0.1],
    ['payer', 'lean.write', 0.5],
    ['payee', 'update.verified', 5],
    ['payer', 'api.answer', 6],
  ]);
  const flush = payment(17, [['payer', 'store.begin', 0]]);
  const f = stageFigures(
    [...usual(0, 0.1), ...extra, ...flush, ...usual(20, 0.1), ...usual(30, 0.1)],
    0n,
    ms(100),
  );
  expect(f.payments).toBe(4);
  expect(f.usual).toBe(3);
  expect(f.steps.map((s) => s.p50_ms)).toEqual([0.5, 0.1, 1.4]);
  // 2 → 10 and 22 → 30 count; 16 → 20 has the flush's mark in it.
  expect(f.answer_to_next).toMatchObject({ p50_ms: 8, mean_ms: 8 });
});

it('requests answered after the next came, and payments outside the window, are left out', () => {
  const overlapping = [
    ...payment(10, [['payer', 'api.pay', 0]]),
    ...payment(10, [
      ['payer', 'api.pay', 0.1],
      ['payer', 'lean.write', 0.5],
      ['payee', 'update.verified', 0.7],
      ['payer', 'api.answer', 2],
    ]),
    ...payment(10, [['payer', 'api.answer', 2.1]]),
  ];
  const f = stageFigures([...usual(0, 0.1), ...overlapping, ...usual(50, 0.1)], 0n, ms(40));
  // The second request of the pair is answered before another comes: it counts; the first not.
  expect(f.payments).toBe(2);
  expect(f.steps[1]).toEqual({
    step: 'payer lean.write → payee update.verified',
    p50_ms: 0.2,
    mean_ms: 0.15,
  });
});
