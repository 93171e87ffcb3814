/**
 * The HTML report in a real browser: headless system Chromium (see
 * chromium.ts) opens the report of the chart fixture run and of a schema-1
 * run. Skipped, with the reason, where Chromium is not installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { buildCharts } from '../../harness/report/charts/index.js';
import { renderHtml } from '../../harness/report/html.js';
import type { RunResult } from '../../harness/result/scenario-api.js';
import { chartFixtureRun, FIXTURE_COUNTS } from './chart-fixture.js';
import { chromiumSkipReason, launchChromium } from './chromium.js';
import { fixtureRun } from './report-fixture.js';
import { itemAt } from '../../common/checked.js';

const skip = chromiumSkipReason();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lbbench-report-browser-'));
let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;

before(async () => {
  if (!skip) chromium = await launchChromium();
});
after(async () => {
  await chromium?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Opens the HTML report of `run`; collects console errors, page errors and every request the page makes. */
async function open(context: BrowserContext, run: RunResult, name: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const file = path.join(tmp, `${name}.html`);
  writeFileSync(file, renderHtml(run));
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, errors, requests };
}

test('HTML report in Chromium: no errors, no fetch, every chart drawn with the fixture points', { skip }, async () => {
  const run = chartFixtureRun();
  const { page, errors, requests } = await open(chromium!.context, run, 'charts');
  assert.deepEqual(errors, []);
  assert.deepEqual(
    requests.filter((u) => !u.startsWith('file:')),
    [],
    'the report fetches nothing',
  );
  assert.equal(requests.length, 1, 'only the file itself is loaded');

  const charts = buildCharts(run);
  assert.equal(await page.locator('figure.chart').count(), charts.length);
  for (const c of charts) {
    const fig = page.locator(`figure.chart#${c.id}`);
    const box = await fig.locator('svg').boundingBox();
    assert.ok(box && box.width > 300 && box.height > 150, `${c.id} is laid out (${JSON.stringify(box)})`);
    for (const [i, s] of c.series.entries()) {
      const nodes = fig.locator(`${s.kind === 'bar' ? '.bar' : '.pt'}[data-series="${i}"]`);
      assert.equal(await nodes.count(), s.points.length, `${c.id}: ${s.name}`);
    }
    assert.equal(await fig.locator('.legend li').count(), c.series.length + (c.markers.length > 0 ? 1 : 0), `${c.id} legend`);
    assert.equal(await fig.locator('line.marker').count(), c.markers.length, `${c.id} markers`);
  }
  // The fixture's own numbers, counted from the DOM.
  assert.equal(await page.locator('#failover-requests .pt').count(), FIXTURE_COUNTS.timeline);
  assert.equal(await page.locator('#failover-requests line.marker').count(), FIXTURE_COUNTS.events);
  assert.equal(await page.locator('#lat-conn-latency .pt').count(), FIXTURE_COUNTS.levels * 5);
  assert.equal(await page.locator('#distribution-random .bar').count(), FIXTURE_COUNTS.backends);
  assert.equal(await page.locator('#memory-profile-rss-time .pt').count(), FIXTURE_COUNTS.rssSamples);
  assert.equal(await page.locator('#latency-percentiles-spectrum .pt').count(), FIXTURE_COUNTS.spectrum * 2);
  assert.equal(await page.locator('#latency-curve-curve .pt').count(), FIXTURE_COUNTS.curvePoints * 2 * FIXTURE_COUNTS.curveRepeats);
  assert.equal(await page.locator('#throughput-gbps .bar').count(), 3);

  // Points sit inside their plot area, higher values higher up.
  // No DOM lib in this project: the one member used, typed here.
  const ys = await page
    .locator('#lat-conn-latency .pt[data-series="0"]')
    .evaluateAll((els: { getAttribute(name: string): string | null }[]) => els.map((e) => Number(e.getAttribute('cy'))));
  assert.ok(itemAt(ys, 0, 'ys[0]') > itemAt(ys, 1, 'ys[1]') && itemAt(ys, 1, 'ys[1]') > itemAt(ys, 2, 'ys[2]'), `p99 rises with connections: ${ys.join(', ')}`);

  // Hover shows the value with its unit.
  await page.locator('#lat-conn-latency .pt[data-series="0"]').last().hover();
  const tip = page.locator('#tip');
  assert.equal(await tip.isVisible(), true);
  assert.match((await tip.textContent()) ?? '', /^lbbench p99: 4 ms at 1,000$/);
  await page.close();
});

test('HTML report in Chromium: a schema-1 result without chart data renders without errors', { skip }, async () => {
  const { page, errors } = await open(chromium!.context, fixtureRun(), 'schema1');
  assert.deepEqual(errors, []);
  assert.equal(await page.locator('figure.chart').count(), 0);
  assert.equal(await page.locator('section.scenario').count(), 3);
  assert.match((await page.locator('h1').textContent()) ?? '', /lbbench report 2025-01-31T10-00-00Z/);
  await page.close();
});
