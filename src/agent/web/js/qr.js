// The invitation's QR code, drawn as an SVG of one path with the vendored qrcode-generator
// (served by the agent at /vendor/qrcode.mjs, loaded on first use).
import { svg } from './dom.js';

let qrModule;

/**
 * Draws the QR code of `text` into `box`. Error correction level L: the least dense code, and a
 * screen does not smudge.
 */
export async function drawQr(box, text) {
  qrModule ??= import('/vendor/qrcode.mjs');
  const qrcode = (await qrModule).default;
  const qr = qrcode(0, 'L');
  qr.addData(text);
  try {
    qr.make();
  } catch (err) {
    throw new Error(`the invitation is too long for a QR code (${err})`);
  }
  const n = qr.getModuleCount();
  const margin = 4;
  let d = '';
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += `M${c + margin} ${r + margin}h1v1h-1z`;
  }
  const size = n + 2 * margin;
  const code = svg(
    'svg',
    { viewBox: `0 0 ${size} ${size}`, role: 'img', 'shape-rendering': 'crispEdges', 'data-modules': n },
    svg('rect', { width: size, height: size, fill: '#fff' }),
    svg('path', { d, fill: '#000' }),
  );
  box.replaceChildren(code);
}
