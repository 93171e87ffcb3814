/**
 * Charts as Mermaid `xychart-beta` blocks, which GitHub renders in Markdown
 * files and comments. xychart draws bars and lines over one shared x axis of
 * evenly spaced categories (or a numeric range with evenly spaced values),
 * one y axis, and no legend, so:
 * - series are sampled at the chart's `ticks`, at its categories, or on an
 *   even grid of at most MAX_POINTS cells (merged with each series' reduce);
 * - a series missing a value at a category is left out of the picture and
 *   named in the caption (its numbers are in the tables);
 * - colours are fixed through `plotColorPalette` and named in a caption;
 * - markers (kill, restart) become a bar series `events` reaching the top of
 *   the chart, listed with their times in a small table below it.
 * Pure.
 */
import type { Chart, ChartSeries } from './chart.js';
import { axisTitle, seriesColor } from './palette.js';
import { itemAt } from '../../../common/checked.js';

/** Most x positions a Mermaid chart gets (more are unreadable on GitHub's ~800 px). */
export const MAX_POINTS = 60;

const MARKER_COLOR = '#444444';

interface Sampled {
  /** x axis clause after `x-axis "title"`: a category list or `min --> max`. */
  xAxis: string;
  /** Per drawable series: its values at the x positions. */
  values: { series: ChartSeries; index: number; ys: number[] }[];
  dropped: string[];
  /** Index of the x position holding each marker. */
  markerCells: number[];
}

/** A number short enough for a chart: 3 significant digits, no exponent. */
function short(n: number): string {
  if (n === 0 || !Number.isFinite(n)) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(n))));
  return String(Number(n.toFixed(Math.min(digits, 6))));
}

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, "'").replace(/[\r\n]+/g, ' ')}"`;
}

function nearest(series: ChartSeries, x: number): number | undefined {
  let best: { d: number; y: number } | undefined;
  for (const p of series.points) {
    const d = Math.abs(p.x - x);
    if (!best || d < best.d) best = { d, y: p.y };
  }
  return best?.y;
}

function sample(chart: Chart): Sampled {
  const dropped: string[] = [];
  const values: Sampled['values'] = [];
  const keep = (series: ChartSeries, index: number, ys: (number | undefined)[]): void => {
    if (ys.some((y) => y === undefined)) dropped.push(series.name);
    else values.push({ series, index, ys: ys as number[] });
  };
  if (chart.x.scale === 'category' || chart.ticks) {
    const labels = chart.x.scale === 'category' ? (chart.x.categories ?? []) : chart.ticks!.map((t) => t.label);
    chart.series.forEach((s, i) => {
      const ys =
        chart.x.scale === 'category'
          ? labels.map((_, c) => s.points.find((p) => p.x === c)?.y)
          : chart.ticks!.map((t) => {
              // A tick beyond the series' own range (p99.999 of a short run) has no value.
              const xs = s.points.map((p) => p.x);
              return t.x < Math.min(...xs) || t.x > Math.max(...xs) ? undefined : nearest(s, t.x);
            });
      keep(s, i, ys);
    });
    const markerCells = chart.markers.map((m) => {
      const xs = chart.ticks?.map((t) => t.x) ?? labels.map((_, c) => c);
      let best = 0;
      xs.forEach((x, c) => (Math.abs(x - m.x) < Math.abs(itemAt(xs, best, 'xs[best]') - m.x) ? (best = c) : undefined));
      return best;
    });
    return { xAxis: `[${labels.map(quote).join(', ')}]`, values, dropped, markerCells };
  }

  // A numeric x: an even grid of cells from the lowest x to the highest.
  const xs = chart.series.flatMap((s) => s.points.map((p) => p.x));
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  const longest = chart.series.reduce((a, s) => (s.points.length > a.points.length ? s : a));
  // Whole groups of k neighbouring points per cell, so every cell merges as
  // many points (an uneven split would alias a flat line into a zigzag).
  const k = Math.max(1, Math.ceil(longest.points.length / MAX_POINTS));
  const step =
    longest.points.length > 1
      ? (itemAt(longest.points, longest.points.length - 1, 'longest.points[longest.points.length - 1]').x - itemAt(longest.points, 0, 'longest.points[0]').x) /
        (longest.points.length - 1)
      : 1;
  const cells = Math.max(2, Math.ceil(longest.points.length / k));
  const width = (max - min + step) / cells || 1;
  const cellOf = (x: number): number => Math.min(cells - 1, Math.max(0, Math.floor((x - min) / width)));
  chart.series.forEach((s, i) => {
    const buckets: number[][] = Array.from({ length: cells }, () => []);
    for (const p of s.points) itemAt(buckets, cellOf(p.x), 'buckets[cellOf(p.x)]').push(p.y);
    let last: number | undefined;
    const ys = buckets.map((b) => {
      if (b.length === 0) return last;
      const y = s.reduce === 'max' ? Math.max(...b) : b.reduce((a, c) => a + c, 0) / b.length;
      last = y;
      return y;
    });
    // Leading empty cells of a line take its first value rather than vanish.
    const first = ys.find((y) => y !== undefined);
    keep(
      s,
      i,
      ys.map((y) => y ?? first),
    );
  });
  return { xAxis: `${short(min)} --> ${short(max)}`, values, dropped, markerCells: chart.markers.map((m) => cellOf(m.x)) };
}

/**
 * The chart as a fenced `mermaid` block and a caption (colours, markers,
 * series left out). Returns undefined when no series can be drawn.
 */
export function renderMermaidChart(chart: Chart): string | undefined {
  const s = sample(chart);
  if (s.values.length === 0) return undefined;
  const all = s.values.flatMap((v) => v.ys);
  const top = Math.max(0, ...all);
  const yMax = top > 0 ? Number(short(top * 1.1)) : 1;
  const yMin = Math.min(0, ...all);
  const colors = s.values.map((v) => seriesColor(v.index));
  const hasMarkers = chart.markers.length > 0;
  const palette = [...colors.map((c) => c.hex), ...(hasMarkers ? [MARKER_COLOR] : [])].join(', ');
  const lines = [
    '```mermaid',
    '---',
    'config:',
    '  themeVariables:',
    '    xyChart:',
    `      plotColorPalette: "${palette}"`,
    '---',
    'xychart-beta',
    `  title ${quote(chart.title)}`,
    `  x-axis ${quote(axisTitle(chart.x))} ${s.xAxis}`,
    `  y-axis ${quote(axisTitle(chart.y))} ${short(yMin)} --> ${yMax}`,
    ...s.values.map((v) => `  ${v.series.kind} [${v.ys.map(short).join(', ')}]`),
  ];
  if (hasMarkers) {
    const cells = itemAt(s.values, 0, 's.values[0]').ys.length;
    const bars = Array.from({ length: cells }, (_, c) => (s.markerCells.includes(c) ? yMax : 0));
    lines.push(`  bar [${bars.map(short).join(', ')}]`);
  }
  lines.push('```');
  const legend = s.values.map((v, i) => `${itemAt(colors, i, 'colors[i]').name} ${v.series.kind}: ${v.series.name}`);
  if (hasMarkers) legend.push('dark grey bars: the events below');
  const caption = [`_${legend.join(' · ')}_`];
  if (s.dropped.length > 0) caption.push(`_Not drawn (missing points at some x): ${s.dropped.join(', ')}._`);
  if (hasMarkers) {
    const unit = chart.x.unit ? ` (${chart.x.unit})` : '';
    caption.push(
      ['', `| event | ${chart.x.label}${unit} |`, '|---|---|', ...chart.markers.map((m) => `| ${m.label.replace(/\|/g, '\\|')} | ${short(m.x)} |`)].join('\n'),
    );
  }
  return `${lines.join('\n')}\n\n${caption.join('\n')}`;
}
