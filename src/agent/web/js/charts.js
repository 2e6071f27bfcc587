// The page's pictures, hand-drawn SVG (no chart library: the page has no build step and its CSP
// loads scripts from this origin only, and a bar and a step line need little): a bar split into
// shares, and values over time as step lines. Colours come from the stylesheet (classes).
import { clock, svg } from './dom.js';
import { roundAmount } from './amounts.js';

/**
 * A horizontal bar of `segments` ({ name, value (a decimal string), label, class }), each as wide
 * as its share of their sum; its tooltip says the label and the exact value. Empty: a grey bar.
 */
export function shareBar(segments, { unit = 'ETH', title } = {}) {
  const values = segments.map((s) => Math.max(0, Number(s.value) || 0));
  const total = values.reduce((a, b) => a + b, 0);
  const bar = svg('svg', {
    class: 'bar',
    viewBox: '0 0 100 6',
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': title ?? segments.map((s) => `${s.label} ${s.value} ${unit}`).join(', '),
  });
  bar.append(svg('rect', { class: 'bar-empty', width: 100, height: 6 }));
  let x = 0;
  segments.forEach((s, i) => {
    const share = total > 0 ? values[i] / total : 0;
    if (share === 0) return;
    bar.append(
      svg(
        'rect',
        {
          class: `tone-${s.class}`,
          x: (x * 100).toFixed(3),
          width: (share * 100).toFixed(3),
          height: 6,
          'data-segment': s.name,
          'data-share': share.toFixed(4),
        },
        svg('title', {}, `${s.label}: ${s.value} ${unit}`),
      ),
    );
    x += share;
  });
  return bar;
}

const W = 600;
const H = 200;
const PAD = { left: 56, right: 12, top: 12, bottom: 26 };

/**
 * Step lines of `series` ({ name, class, label, points: [{ at (ms), value (decimal string) }] },
 * points oldest first): each value holds until the next. x is time, y starts at 0. Each point
 * has a tooltip with its time and exact value.
 */
export function stepChart(series, { unit = 'ETH', until = Date.now() } = {}) {
  const all = series.flatMap((s) => s.points);
  const chart = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img' });
  if (all.length === 0) return chart;
  const t0 = Math.min(...all.map((p) => p.at));
  const t1 = Math.max(until, ...all.map((p) => p.at));
  const top = Math.max(...all.map((p) => Number(p.value) || 0)) || 1;
  const x = (t) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - ((Number(v) || 0) / top) * (H - PAD.top - PAD.bottom);
  const f = (n) => n.toFixed(1);

  chart.append(
    svg('line', { class: 'axis', x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom }),
    svg('line', { class: 'axis', x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom }),
    svg(
      'text',
      { class: 'tick', x: PAD.left - 6, y: y(top) + 4, 'text-anchor': 'end' },
      roundAmount(String(top)),
    ),
    svg('text', { class: 'tick', x: PAD.left - 6, y: H - PAD.bottom + 4, 'text-anchor': 'end' }, '0'),
    svg('text', { class: 'tick', x: PAD.left, y: H - 8 }, clock(new Date(t0).toISOString())),
    svg(
      'text',
      { class: 'tick', x: W - PAD.right, y: H - 8, 'text-anchor': 'end' },
      clock(new Date(t1).toISOString()),
    ),
  );
  for (const s of series) {
    if (s.points.length === 0) continue;
    let d = `M${f(x(s.points[0].at))} ${f(y(s.points[0].value))}`;
    for (const p of s.points.slice(1)) d += `H${f(x(p.at))}V${f(y(p.value))}`;
    d += `H${f(x(t1))}`;
    const line = svg('g', { class: `series tone-${s.class}`, 'data-series': s.name });
    line.append(svg('path', { d }));
    for (const p of s.points) {
      line.append(
        svg(
          'circle',
          { cx: f(x(p.at)), cy: f(y(p.value)), r: 3 },
          svg('title', {}, `${s.label} ${p.value} ${unit}, ${new Date(p.at).toLocaleString()}`),
        ),
      );
    }
    chart.append(line);
  }
  return chart;
}
