// How the page's buttons and forms act: disabled while their request runs, the progress and the
// outcome in the status line; destructive ones ask for a second click instead of a dialog box.
import { setStatus, showError } from './api.js';

/**
 * Runs an action with its form or button disabled and the progress and outcome (the text the
 * action returns) or the error in the status line.
 */
export async function busy(target, doing, action) {
  const controls = target.matches('button')
    ? [target]
    : [...target.querySelectorAll('button, input, select')];
  for (const c of controls) c.disabled = true;
  target.setAttribute('aria-busy', 'true');
  setStatus(`${doing}…`, 'info');
  try {
    setStatus(await action(), 'ok');
  } catch (err) {
    showError(err, doing);
  } finally {
    for (const c of controls) c.disabled = false;
    target.removeAttribute('aria-busy');
  }
}

/** A button that acts on a second click within 4 s (no dialog box). */
export function confirmable(button, confirmLabel, action) {
  const label = button.textContent;
  let timer;
  button.addEventListener('click', () => {
    if (button.dataset.armed !== 'true') {
      button.dataset.armed = 'true';
      button.textContent = confirmLabel;
      timer = setTimeout(() => {
        delete button.dataset.armed;
        button.textContent = label;
      }, 4000);
      return;
    }
    clearTimeout(timer);
    delete button.dataset.armed;
    button.textContent = label;
    action();
  });
}

/** What a settlement withdrew, in words. */
export const withdrawn = (s) => s.withdrawn.map((w) => `${w.amount} ${w.asset}`).join(', ') || 'nothing';
