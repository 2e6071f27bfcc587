// Amounts as the page shows them: the API's exact decimal strings rounded for reading (4 decimals,
// or 4 significant digits below 1), the exact value in the tooltip and in what is copied.

const DECIMAL_RE = /^(-?)(\d+)(?:\.(\d+))?$/;
const SIGNIFICANT = 4;

/**
 * `value` (a decimal string) rounded half up to 4 decimals, or to 4 significant digits after the
 * leading zeros of an amount below 1; trailing zeros dropped. Exact (BigInt), never a float.
 */
export function roundAmount(value) {
  const m = DECIMAL_RE.exec(String(value));
  if (m === null) return String(value);
  const [, sign, whole, frac = ''] = m;
  const leadingZeros = /^0*/.exec(frac)[0].length;
  const keep = BigInt(whole) === 0n && leadingZeros < frac.length ? leadingZeros + SIGNIFICANT : SIGNIFICANT;
  if (frac.length <= keep) return String(value);
  let units = BigInt(whole + frac.slice(0, keep));
  if (frac[keep] >= '5') units += 1n;
  const digits = units.toString().padStart(keep + 1, '0');
  const intPart = digits.slice(0, -keep);
  const fracPart = digits.slice(-keep).replace(/0+$/, '');
  const text = fracPart === '' ? intPart : `${intPart}.${fracPart}`;
  return /^[0.]+$/.test(text) ? text : sign + text;
}

/** An amount for reading: rounded text, the exact value and its unit in the tooltip. */
export function amount(value, unit, attrs = {}) {
  const node = document.createElement('span');
  node.className = 'amount';
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'testid') node.dataset.testid = v;
    else node.setAttribute(k, v);
  }
  setAmount(node, value, unit);
  return node;
}

/** Puts `value` into an amount element made by `amount` (or any element). */
export function setAmount(node, value, unit) {
  node.classList.add('amount');
  node.textContent = roundAmount(value);
  node.dataset.full = String(value);
  node.title = unit ? `${value} ${unit}` : String(value);
}

const BLOCKS = new Set(['TR', 'LI', 'P', 'DIV', 'DT', 'DD', 'ARTICLE', 'SECTION', 'H2', 'H3', 'FORM']);

/** The text of `node` as copied, every amount in it at full precision. */
function copiedText(node) {
  if (node.nodeType === Node.TEXT_NODE) return node.textContent;
  if (node.nodeType !== Node.ELEMENT_NODE && node.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) return '';
  if (node.dataset?.full !== undefined) return node.dataset.full;
  let text = '';
  for (const child of node.childNodes) text += copiedText(child);
  if (BLOCKS.has(node.tagName)) return `${text}\n`;
  if (node.tagName === 'TD' || node.tagName === 'TH') return `${text}\t`;
  return text;
}

/** Copying a selection with rounded amounts in it copies their exact values. */
export function copyExactAmounts() {
  document.addEventListener('copy', (e) => {
    const selection = document.getSelection();
    if (selection === null || selection.rangeCount === 0 || selection.isCollapsed) return;
    const range = selection.getRangeAt(0);
    const start = range.commonAncestorContainer;
    const inside = (start.nodeType === Node.ELEMENT_NODE ? start : start.parentElement)?.closest(
      '[data-full]',
    );
    let text;
    if (inside) text = inside.dataset.full;
    else {
      const fragment = range.cloneContents();
      if (fragment.querySelector('[data-full]') === null) return;
      text = copiedText(fragment).replace(/\t\n/g, '\n').trim();
    }
    e.clipboardData.setData('text/plain', text);
    e.preventDefault();
  });
}

/** The exact sum of decimal strings, each with its sign: `sumAmounts([['1.5', 1], ['0.25', -1]])` is '1.25'. */
export function sumAmounts(terms) {
  const parsed = terms.map(([value, sign]) => [DECIMAL_RE.exec(String(value)), sign]);
  if (parsed.some(([m]) => m === null)) return undefined;
  const scale = Math.max(0, ...parsed.map(([m]) => (m[3] ?? '').length));
  let total = 0n;
  for (const [[, minus, whole, frac = ''], sign] of parsed) {
    const units = BigInt(whole + frac.padEnd(scale, '0'));
    total += (minus === '-' ? -units : units) * BigInt(sign);
  }
  const negative = total < 0n;
  const digits = (negative ? -total : total).toString().padStart(scale + 1, '0');
  const fracPart = scale === 0 ? '' : digits.slice(-scale).replace(/0+$/, '');
  const intPart = scale === 0 ? digits : digits.slice(0, -scale);
  return (negative ? '-' : '') + intPart + (fracPart === '' ? '' : `.${fracPart}`);
}
