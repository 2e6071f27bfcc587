// The backends' polling wait: it ends on time, or at once with the signal's reason when the signal
// aborts; a loop that sleeps many times on one long-lived signal leaves no abort listener behind
// (before, each wait left one, and a funding loop of a few seconds warned of a listener leak).
import { getEventListeners } from 'node:events';
import { sleep } from '../../src/channels/sleep.js';

it('sleeps on one signal a hundred times and leaves no listener on it', async () => {
  const controller = new AbortController();
  for (let i = 0; i < 100; i++) await sleep(0, controller.signal);
  expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
});

it('an abort ends the wait with the reason; an aborted signal ends it at once', async () => {
  const controller = new AbortController();
  const waiting = sleep(60_000, controller.signal);
  controller.abort(new Error('stop'));
  await expect(waiting).rejects.toThrow('stop');
  await expect(sleep(60_000, controller.signal)).rejects.toThrow('stop');
});
