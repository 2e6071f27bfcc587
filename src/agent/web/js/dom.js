// DOM helpers of the web page: elements (HTML and SVG) built with attributes and text children,
// never from HTML strings; shortened IDs; times in the user's locale.

/** The element with `data-testid="<testId>"` (the page's own handles are its test IDs). */
export const $ = (testId, root = document) => root.querySelector(`[data-testid="${testId}"]`);

function setAttributes(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.setAttribute('class', v);
    else if (k === 'testid') node.dataset.testid = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
}

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  for (const c of children) if (c !== undefined && c !== null) node.append(c);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element, like `el`. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attrs);
  for (const c of children) if (c !== undefined && c !== null) node.append(c);
  return node;
}

/**
 * A long ID shortened to its start and end (the whole in a tooltip). DIDs keep a longer start and
 * no end: did:peer:2 DIDs differ early and end alike (their service part).
 */
export function short(text, head = 14, tail = 6) {
  if (text === undefined || text === null) return el('span', { class: 'muted' }, '–');
  const s = String(text);
  if (s.startsWith('did:')) [head, tail] = [Math.max(head, 26), 0];
  if (s.length <= head + tail + 1) return el('code', {}, s);
  return el('code', { title: s }, `${s.slice(0, head)}…${tail > 0 ? s.slice(-tail) : ''}`);
}

export const time = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
};

export const clock = (iso) => {
  const d = iso ? new Date(iso) : new Date();
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString();
};

/** Shows or hides the "nothing here" line under a list. */
export function showEmpty(listTestId, empty) {
  const p = document.querySelector(`[data-empty-for="${listTestId}"]`);
  if (p) p.hidden = !empty;
}
