// Countdowns to a deadline (a proposal's expiry, a dispute's challenge end): elements made here
// show the time left and are updated every second while they are in the page.

let ticking;

/** "45 s", "3 min 05 s", "2 h 07 min". */
export function timeLeft(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

function update(node) {
  const left = Date.parse(node.dataset.deadline) - Date.now();
  node.textContent = left > 0 ? `${node.dataset.before} ${timeLeft(left)}` : node.dataset.after;
  node.dataset.expired = String(left <= 0);
}

function tick() {
  for (const node of document.querySelectorAll('[data-deadline]')) update(node);
}

/**
 * A span counting down to `deadline` (ISO time): "<before> 12 s" until then, `after` from then on.
 * Its tooltip names the moment.
 */
export function countdown(deadline, { before, after, testid }) {
  const node = document.createElement('span');
  node.className = 'countdown';
  if (testid) node.dataset.testid = testid;
  node.dataset.deadline = deadline;
  node.dataset.before = before;
  node.dataset.after = after;
  node.title = new Date(deadline).toLocaleString();
  update(node);
  ticking ??= setInterval(tick, 1000);
  return node;
}
