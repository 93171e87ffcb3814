import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCharts } from '../../harness/report/charts/index.js';
import { MAX_POINTS, renderMermaidChart } from '../../harness/report/charts/mermaid.js';
import { niceTicks, renderSvgChart } from '../../harness/report/charts/svg.js';
import { renderHtml } from '../../harness/report/html.js';
import { renderMarkdown } from '../../harness/report/markdown.js';
import { chartFixtureRun, FIXTURE_COUNTS } from './chart-fixture.js';
import { fixtureRun } from './report-fixture.js';
import { itemAt } from '../../common/checked.js';

const run = chartFixtureRun();
const charts = buildCharts(run);
const byId = (id: string) => {
  const c = charts.find((x) => x.id === id);
  assert.ok(c, `chart ${id} among ${charts.map((x) => x.id).join(', ')}`);
  return c;
};

test('buildCharts: one chart per figure, in scenario order, unique ids', () => {
  assert.deepEqual(
    charts.map((c) => c.id),
    [
      'lat-conn-latency',
      'lat-conn-capacity',
      'latency-percentiles-spectrum',
      'failover-requests',
      'failover-p99',
      'distribution-weighted-round-robin',
      'distribution-random',
      'memory-profile-rss-time',
      'memory-profile-rss-connections',
      'throughput-gbps',
      'latency-curve-curve',
    ],
  );
  assert.equal(new Set(charts.map((c) => c.id)).size, charts.length);
  const before = structuredClone(run);
  buildCharts(run);
  assert.deepEqual(run, before, 'building charts does not touch the result');
});

test('targets are lines side by side, the direct baseline once', () => {
  const lat = byId('lat-conn-latency');
  assert.deepEqual(
    lat.series.map((s) => s.name),
    ['lbbench p99', 'lbbench p50', 'nginx p99', 'nginx p50', 'direct p99'],
  );
  for (const s of lat.series) assert.equal(s.points.length, FIXTURE_COUNTS.levels);
  assert.deepEqual(
    lat.series[0]?.points.map((p) => p.y),
    [2, 3, 4],
  );
  assert.deepEqual(lat.y, { label: 'latency', unit: 'ms' });
  const tp = byId('throughput-gbps');
  assert.deepEqual(tp.x.categories, ['lbbench', 'nginx', 'direct']);
  assert.deepEqual(
    tp.series[0]?.points.map((p) => p.y),
    [1.2, 1.6, 4.2],
  );
});

test('repeats each get their own line; the direct curve too', () => {
  const curve = byId('latency-curve-curve');
  assert.deepEqual(
    curve.series.map((s) => s.name),
    ['direct #1 p99', 'lbbench #1 p99', 'direct #2 p99', 'lbbench #2 p99', 'direct #3 p99', 'lbbench #3 p99'],
  );
  assert.equal(curve.markers.length, 6, 'a knee per curve');
  for (const s of curve.series) assert.equal(s.points.length, FIXTURE_COUNTS.curvePoints);
});

test('failover: per-100 ms series with the kill and restart as markers', () => {
  const f = byId('failover-requests');
  assert.equal(f.title, 'Requests and errors per 100 ms');
  assert.deepEqual(f.markers, [
    { x: 1, label: 'kill backend-8002' },
    { x: 3.5, label: 'restart backend-8002' },
  ]);
  assert.deepEqual(
    f.series.map((s) => [s.name, s.kind, s.points.length]),
    [
      ['lbbench requests', 'line', 50],
      ['lbbench errors', 'bar', 50],
    ],
  );
  assert.equal(byId('failover-p99').series[0]?.points.find((p) => p.x === 2)!.y, 50);
});

test('schema-1 results without chart data still render, with no charts', () => {
  const old = fixtureRun();
  assert.deepEqual(buildCharts(old), []);
  assert.doesNotMatch(renderMarkdown(old), /```mermaid/);
  assert.match(renderHtml(old), /<h2>distribution<\/h2>/);
});

test('Mermaid: xychart blocks with categories, all values, a legend and the event table', () => {
  const md = renderMermaidChart(byId('lat-conn-latency'))!;
  assert.match(md, /^```mermaid\n---\nconfig:\n/);
  assert.match(
    md,
    /\nxychart-beta\n {2}title "Latency against connections \(open loop\)"\n {2}x-axis "connections" \["100", "500", "1000"\]\n {2}y-axis "latency \(ms\)" 0 --> [\d.]+\n/,
  );
  assert.equal(md.match(/^ {2}line \[/gm)?.length, 5);
  assert.match(md, /^ {2}line \[2, 3, 4\]$/m);
  assert.match(md, /_blue line: lbbench p99 · orange line: lbbench p50 · green line: nginx p99/);

  const spectrum = renderMermaidChart(byId('latency-percentiles-spectrum'))!;
  assert.match(spectrum, /x-axis "percentile \(%\)" \["p50", "p90", "p99", "p99.9", "p99.99", "p99.999", "max"\]/);

  const failover = renderMermaidChart(byId('failover-requests'))!;
  assert.match(failover, /x-axis "time since load start \(s\)" 0 --> 4.9/);
  // The events as a full-height bar series, then listed with their times.
  const bars = failover.match(/^ {2}bar \[(.*)\]$/gm)!;
  assert.equal(bars.length, 2);
  assert.match(failover, /\| kill backend-8002 \| 1 \|\n\| restart backend-8002 \| 3.5 \|/);
  // The error spike survives (errors merge by max).
  assert.match(bars[0], /\b20\b/);

  const markdown = renderMarkdown(run);
  assert.equal(markdown.match(/```mermaid/g)?.length, charts.length);
});

test('Mermaid: long series are merged into at most MAX_POINTS even cells', () => {
  const long = {
    ...byId('failover-p99'),
    series: [
      { name: 'p99', kind: 'line' as const, reduce: 'max' as const, points: Array.from({ length: 400 }, (_, i) => ({ x: i / 10, y: i === 123 ? 99 : 1 })) },
    ],
    markers: [],
  };
  const md = renderMermaidChart(long)!;
  const line = /^ {2}line \[(.*)\]$/m.exec(md);
  assert.ok(line, 'a line series in the chart');
  const values = itemAt(line, 1, 'the values of the line series').split(', ').map(Number);
  assert.ok(values.length <= MAX_POINTS && values.length >= MAX_POINTS / 2, String(values.length));
  assert.equal(Math.max(...values), 99, 'a peak is kept by max');
});

test('SVG: one DOM node per point and bar, titles for hover, axes with units', () => {
  for (const c of charts) {
    const svg = renderSvgChart(c);
    c.series.forEach((s, i) => {
      const cls = s.kind === 'bar' ? 'bar' : 'pt';
      assert.equal(svg.match(new RegExp(`class="${cls}" data-series="${i}"`, 'g'))?.length ?? 0, s.points.length, `${c.id} ${s.name}`);
    });
    assert.equal(svg.match(/class="marker"/g)?.length ?? 0, c.markers.length);
    assert.ok(svg.includes(`${c.y.label}${c.y.unit ? ` (${c.y.unit})` : ''}`), `${c.id} y title`);
    assert.match(svg, /<title>[^<]+<\/title>/);
  }
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
});

test('HTML: self-contained (no external resource), every chart, escaped text', () => {
  const html = renderHtml(run);
  assert.match(html, /^<!DOCTYPE html>/);
  assert.doesNotMatch(html, /<(?:script|img|iframe)[^>]+src=|<link\b|@import|url\(/i);
  const urls = html.match(/https?:\/\/[^\s"'<)]+/g) ?? [];
  assert.deepEqual(
    [...new Set(urls)].filter((u) => u !== 'http://www.w3.org/2000/svg' && !u.startsWith('http://127.0.0.1')),
    [],
  );
  for (const c of charts) assert.ok(html.includes(`<figure class="chart" id="${c.id}"`), c.id);
  // Targets side by side: one column per target in the lat_conn section.
  const latSection = html.slice(html.indexOf('id="scenario-lat_conn"'), html.indexOf('id="scenario-latency_percentiles"'));
  assert.equal(latSection.match(/<div class="target">/g)?.length, 2);
  // Repeats: every repeat's value beside the median.
  assert.match(html, /Repeats \(3\)/);
  const hostile = renderHtml(fixtureRun({ runId: '<script>alert(1)</script>' }));
  assert.doesNotMatch(hostile, /<script>alert/);
});
