/**
 * Charts as inline SVG for the HTML report: axes with ticks, titles with
 * units, a legend, vertical event markers, and hover values (every point and
 * bar carries a `<title>`, which browsers show on hover, and `data-*`
 * attributes the report's small script turns into a tooltip). Plain SVG
 * instead of a chart library: the report stays one small self-contained
 * file, draws without JavaScript, and every point is a DOM node tests can
 * count. Pure: a Chart in, markup out.
 *
 * DOM contract (used by the report's tests): the figure is
 * `figure.chart#<id>[data-series=<n>]`; each point of series i is
 * `.pt[data-series=i]` (lines) or `.bar[data-series=i]` (bars); each marker
 * is `line.marker`.
 */
import type { Chart, ChartSeries } from './chart.js';
import { axisTitle, seriesColor } from './palette.js';
import { itemAt } from '../../../common/checked.js';

const W = 760;
const H = 340;
const M = { left: 70, right: 20, top: 16, bottom: 52 };
const PLOT_W = W - M.left - M.right;
const PLOT_H = H - M.top - M.bottom;

/** Escapes text for HTML/SVG content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A number for labels: 3 significant digits, thousands without exponent. */
export function formatValue(n: number): string {
  if (n === 0 || !Number.isFinite(n)) return String(n === 0 ? 0 : n);
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  return String(Number(n.toPrecision(3)));
}

/** `count` or fewer round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Percentile p (0..100) on HdrHistogram's axis: log10(1/(1-p)); 100 sits one decade past `top`. */
function percentileAxis(p: number, top: number): number {
  return p >= 100 ? top + 1 : Math.log10(100 / (100 - p));
}

interface XMap {
  at(x: number): number;
  ticks: { at: number; label: string }[];
  /** Width of a band (category scale), else 0. */
  band: number;
}

function xMap(chart: Chart): XMap {
  const xs = chart.series.flatMap((s) => s.points.map((p) => p.x));
  if (chart.x.scale === 'category') {
    const cats = chart.x.categories ?? [];
    const band = PLOT_W / Math.max(1, cats.length);
    return { at: (i) => M.left + band * (i + 0.5), band, ticks: cats.map((c, i) => ({ at: M.left + band * (i + 0.5), label: c })) };
  }
  if (chart.x.scale === 'percentile') {
    const finite = xs.filter((x) => x < 100);
    const top = Math.max(1, Math.ceil(Math.max(0, ...finite.map((p) => percentileAxis(p, 0)))));
    const span = xs.some((x) => x >= 100) ? top + 1 : top;
    const at = (p: number): number => M.left + (percentileAxis(p, top) / span) * PLOT_W;
    const ticks = Array.from({ length: top + 1 }, (_, d) => ({
      at: M.left + (d / span) * PLOT_W,
      label: d === 0 ? '0%' : `${(100 - 100 / 10 ** d).toFixed(Math.max(0, d - 2))}%`,
    }));
    if (span > top) ticks.push({ at: M.left + PLOT_W, label: 'max' });
    return { at, band: 0, ticks };
  }
  const min = Math.min(...xs, ...chart.markers.map((m) => m.x));
  const max = Math.max(...xs, ...chart.markers.map((m) => m.x));
  const span = max - min || 1;
  const at = (x: number): number => M.left + ((x - min) / span) * PLOT_W;
  return { at, band: 0, ticks: niceTicks(min, max, 8).map((t) => ({ at: at(t), label: formatValue(t) })) };
}

function yMap(chart: Chart): { at(y: number): number; ticks: number[]; base: number } {
  const ys = chart.series.flatMap((s) => s.points.map((p) => p.y));
  const min = Math.min(0, ...ys);
  const top = Math.max(...ys, 0);
  const first = niceTicks(min, top > min ? top : min + 1, 5);
  const step = first.length > 1 ? itemAt(first, 1, 'first[1]') - itemAt(first, 0, 'first[0]') : 1;
  // The top of the plot is the first tick at or above the highest value.
  const max = Math.max(
    top,
    itemAt(first, first.length - 1, 'first[first.length - 1]') + (itemAt(first, first.length - 1, 'first[first.length - 1]') < top ? step : 0),
  );
  const ticks = niceTicks(min, max, 5);
  const span = max - min || 1;
  const at = (y: number): number => M.top + PLOT_H - ((y - min) / span) * PLOT_H;
  return { at, ticks, base: at(Math.max(min, 0)) };
}

function pointTitle(chart: Chart, s: ChartSeries, x: number, y: number): string {
  const xText =
    chart.x.scale === 'category'
      ? (chart.x.categories?.[x] ?? String(x))
      : chart.x.scale === 'percentile'
        ? `p${formatValue(x)}`
        : `${formatValue(x)}${chart.x.unit ? ` ${chart.x.unit}` : ''}`;
  return `${s.name}: ${formatValue(y)}${chart.y.unit ? ` ${chart.y.unit}` : ''} at ${xText}`;
}

/** One chart as a `<figure>` holding its SVG and legend. */
export function renderSvgChart(chart: Chart): string {
  const x = xMap(chart);
  const y = yMap(chart);
  const f = (n: number): string => n.toFixed(1);
  const parts: string[] = [];
  parts.push(`<rect class="plot" x="${M.left}" y="${M.top}" width="${PLOT_W}" height="${PLOT_H}"/>`);
  for (const t of y.ticks) {
    parts.push(`<line class="grid" x1="${M.left}" x2="${M.left + PLOT_W}" y1="${f(y.at(t))}" y2="${f(y.at(t))}"/>`);
    parts.push(`<text class="tick" x="${M.left - 6}" y="${f(y.at(t) + 4)}" text-anchor="end">${escapeHtml(formatValue(t))}</text>`);
  }
  for (const t of x.ticks) {
    parts.push(`<line class="tickmark" x1="${f(t.at)}" x2="${f(t.at)}" y1="${M.top + PLOT_H}" y2="${M.top + PLOT_H + 5}"/>`);
    parts.push(`<text class="tick" x="${f(t.at)}" y="${M.top + PLOT_H + 18}" text-anchor="middle">${escapeHtml(t.label)}</text>`);
  }
  parts.push(
    `<text class="axis-title" x="${M.left + PLOT_W / 2}" y="${H - 10}" text-anchor="middle">${escapeHtml(axisTitle(chart.x))}${chart.x.scale === 'percentile' ? ' — log scale of 1/(1−p)' : ''}</text>`,
  );
  parts.push(
    `<text class="axis-title" transform="translate(16 ${M.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(axisTitle(chart.y))}</text>`,
  );

  const bars = chart.series.map((s, i) => ({ s, i })).filter(({ s }) => s.kind === 'bar');
  chart.series.forEach((s, i) => {
    const color = seriesColor(i).hex;
    const cls = `series s${i}`;
    if (s.kind === 'bar') {
      const slot = bars.findIndex((b) => b.i === i);
      // On a numeric axis a bar is as wide as the closest two points allow.
      const gaps = s.points
        .slice(1)
        .map((p, k) => x.at(p.x) - x.at(itemAt(s.points, k, 's.points[k]').x))
        .filter((g) => g > 0);
      const band = x.band || Math.max(1, Math.min(PLOT_W / 10, ...gaps) * 0.8);
      const groupW = band * (x.band ? 0.8 : 1);
      const barW = groupW / (x.band ? bars.length : 1);
      const rects = s.points.map((p) => {
        const left = x.at(p.x) - groupW / 2 + (x.band ? slot * barW : 0);
        const top = Math.min(y.at(p.y), y.base);
        const h = Math.abs(y.base - y.at(p.y));
        return `<rect class="bar" data-series="${i}" data-x="${p.x}" data-y="${p.y}" x="${f(left)}" y="${f(top)}" width="${f(Math.max(1, barW))}" height="${f(h)}" fill="${color}"><title>${escapeHtml(pointTitle(chart, s, p.x, p.y))}</title></rect>`;
      });
      parts.push(`<g class="${cls}">${rects.join('')}</g>`);
    } else {
      const d = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${f(x.at(p.x))},${f(y.at(p.y))}`).join('');
      const r = s.points.length > 60 ? 1.5 : 3;
      const dots = s.points.map(
        (p) =>
          `<circle class="pt" data-series="${i}" data-x="${p.x}" data-y="${p.y}" cx="${f(x.at(p.x))}" cy="${f(y.at(p.y))}" r="${r}" fill="${color}"><title>${escapeHtml(pointTitle(chart, s, p.x, p.y))}</title></circle>`,
      );
      parts.push(`<g class="${cls}"><path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"/>${dots.join('')}</g>`);
    }
  });
  chart.markers.forEach((m, k) => {
    const at = f(x.at(m.x));
    const label = `${m.label} at ${formatValue(m.x)}${chart.x.unit ? ` ${chart.x.unit}` : ''}`;
    parts.push(`<line class="marker" data-x="${m.x}" x1="${at}" x2="${at}" y1="${M.top}" y2="${M.top + PLOT_H}"><title>${escapeHtml(label)}</title></line>`);
    // Labels alternate between rows so neighbouring events do not overprint.
    const nearRight = Number(at) > M.left + PLOT_W * 0.85;
    parts.push(
      `<text class="marker-label" x="${Number(at) + (nearRight ? -3 : 3)}" y="${M.top + 12 + (k % 3) * 12}"${nearRight ? ' text-anchor="end"' : ''}>${escapeHtml(m.label)}</text>`,
    );
  });

  const legend = chart.series
    .map((s, i) => `<li><span class="swatch swatch-${s.kind}" style="background:${seriesColor(i).hex}"></span>${escapeHtml(s.name)}</li>`)
    .concat(chart.markers.length > 0 ? ['<li><span class="swatch swatch-marker"></span>events</li>'] : [])
    .join('');
  return [
    `<figure class="chart" id="${escapeHtml(chart.id)}" data-series="${chart.series.length}">`,
    `<figcaption>${escapeHtml(chart.title)}</figcaption>`,
    `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(chart.title)}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`,
    `<ul class="legend">${legend}</ul>`,
    '</figure>',
  ].join('\n');
}
