import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeCell, renderMarkdown } from '../../harness/report/markdown.js';
import { buildSummary, overallStatus, scenarioStatus } from '../../harness/report/summary.js';
import { renderScenarioTerminal, renderServiceTable, renderSummaryTerminal, renderTable } from '../../harness/report/terminal.js';
import type { Verdict } from '../../harness/result/scenario-api.js';
import { fixtureRun, fixtureScenario } from './report-fixture.js';

const ANSI = /\u001b\[/;

function v(scenario: string, name: string, verdict: Verdict['verdict'] = 'PASS', metric = 'm'): Verdict {
  return { scenario, name, target: `${metric} < 1`, metric, measured: 0, verdict };
}

test('buildSummary: the guide five first in guide order (by metric), then the rest in scenario order', () => {
  const scenarios = [
    fixtureScenario({ name: 'a', verdicts: [v('a', 'extra 1'), v('a', 'active connections', 'PASS', 'connections_served'), v('a', 'extra 2')] }),
    fixtureScenario({ name: 'b', verdicts: [v('b', 'distribution deviation', 'PASS', 'deviation_pct'), v('b', 'throughput', 'PASS', 'throughput_ratio')] }),
    fixtureScenario({
      name: 'c',
      verdicts: [v('c', 'extra 3'), v('c', 'failover detection', 'PASS', 'detection_ms'), v('c', 'p99 at 1K connections', 'PASS', 'p99_ms_c1000')],
    }),
  ];
  assert.deepEqual(
    buildSummary(scenarios).map((x) => x.name),
    ['p99 at 1K connections', 'throughput', 'failover detection', 'distribution deviation', 'active connections', 'extra 1', 'extra 2', 'extra 3'],
  );
  assert.deepEqual(buildSummary([]), []);
});

test('buildSummary: a renamed guide threshold stays in the headline; a guide name on another metric does not', () => {
  const scenarios = [fixtureScenario({ name: 'a', verdicts: [v('a', 'throughput'), v('a', 'p99 @ 1000 conns', 'FAIL', 'p99_ms_c1000')] })];
  assert.deepEqual(
    buildSummary(scenarios).map((x) => x.name),
    ['p99 @ 1000 conns', 'throughput'],
  );
});

test('overallStatus and scenarioStatus', () => {
  const pass = fixtureScenario({ verdicts: [v('s', 'x', 'EXCELLENT'), v('s', 'y', 'SKIP')] });
  const fail = fixtureScenario({ verdicts: [v('s', 'x', 'FAIL')] });
  const cases: [Parameters<typeof overallStatus>[0], string][] = [
    [{ scenarios: [pass], exitCode: 0, interrupted: false }, 'PASS'],
    [{ scenarios: [], exitCode: 0, interrupted: false }, 'PASS'],
    [{ scenarios: [pass, fail], exitCode: 1, interrupted: false }, 'FAIL'],
    [{ scenarios: [pass, fail, fixtureScenario({ status: 'invalid' })], exitCode: 3, interrupted: false }, 'INVALID'],
    [{ scenarios: [fixtureScenario({ status: 'error', error: 'boom' })], exitCode: 0, interrupted: false }, 'INVALID'],
    [{ scenarios: [pass, fixtureScenario({ status: 'interrupted' })], exitCode: 0, interrupted: false }, 'INVALID'],
    [{ scenarios: [pass], exitCode: 0, interrupted: true }, 'INVALID'],
    [{ scenarios: [pass], exitCode: 3, interrupted: false }, 'INVALID'],
  ];
  for (const [run, want] of cases) assert.equal(overallStatus(run), want);
  assert.equal(scenarioStatus(pass), 'PASS');
  assert.equal(scenarioStatus(fail), 'FAIL');
  assert.equal(scenarioStatus(fixtureScenario({ status: 'interrupted' })), 'INTERRUPTED');
});

test('escapeCell escapes pipes and line breaks', () => {
  const cases: [string, string][] = [
    ['a|b', 'a\\|b'],
    ['`x | y`', '`x \\| y`'],
    ['a\\|b', 'a\\\\\\|b'],
    ['one\ntwo', 'one<br>two'],
    ['plain', 'plain'],
  ];
  for (const [input, want] of cases) assert.equal(escapeCell(input), want, input);
});

test('renderMarkdown: status, summary order, escaping, sections', () => {
  const run = fixtureRun();
  const before = structuredClone(run);
  const md = renderMarkdown(run);
  assert.deepEqual(run, before, 'rendering does not touch its input');
  assert.equal(renderMarkdown(run), md, 'pure: same input, same text');

  assert.match(md, /^# lbbench report 2025-01-31T10-00-00Z\n/);
  assert.match(md, /\*\*Status: INVALID\*\*/);
  assert.match(md, /INTERRUPTED/);
  assert.match(md, /- `lat_conn`: \*\*INVALID\*\*: only 987 of 1000 connections were established/);

  // Summary table: guide rows first (in guide order), then the rest.
  const summary = md.slice(md.indexOf('## Summary'), md.indexOf('## Scenarios'));
  const names = summary
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| metric'))
    .map((l) => l.split(' | ')[0]?.slice(2));
  assert.deepEqual(names, ['p99 at 1K connections', 'throughput', 'distribution deviation', 'extra check']);
  assert.match(summary, /\| p99 at 1K connections \| `p99_ms_c1000 < 20` \| `p99_ms_c1000 < 10` \| 12\.5 \| PASS \| lat_conn \|/);
  assert.match(summary, /\| throughput \| `gigabytes_per_second > 1` \| `gigabytes_per_second > 5` \| — \| SKIP \| throughput \|/);

  // Every table row has as many unescaped pipes as the header of its table.
  let headerPipes = 0;
  let previous = '';
  for (const line of md.split('\n')) {
    if (line.startsWith('|')) {
      const pipes = line.match(/(?<!\\)\|/g)!.length;
      if (!previous.startsWith('|')) headerPipes = pipes;
      else assert.equal(pipes, headerPipes, `unescaped pipe in: ${line}`);
    }
    previous = line;
  }
  assert.match(md, /\| backend-8001 \\\| primary \| 0\.5 \|/);
  assert.match(md, /weights 5\\\|3\\\|2 over three backends/);

  // Per-scenario content.
  assert.match(md, /### distribution — PASS/);
  assert.match(md, /### lat_conn — INVALID/);
  assert.match(md, /### throughput — INTERRUPTED/);
  assert.match(md, /\| weights \| `\[5,3,2\]` \|/);
  assert.match(md, /\| c1000 \| open-loop 0\.1\.0 \| open loop, 1 µs \| 987\/1000 \(1234 ms\) \|/);
  assert.match(md, /````text\ndistribution: deviation 1\.5% ```\n````/, 'a fence longer than the backticks inside');
  assert.match(md, /\| lb \| 100 \| 2 \| 50 \| 60 \| 60\.0 MiB \|/);
  assert.match(md, /- only 987 of 1000 connections were established/);

  assert.match(md, /## Environment[\s\S]*\| CPU \| Test CPU \|[\s\S]*\| git commit \| a{40} \|/);
  assert.match(md, /## Load models\n\n- \*\*Open loop\*\*/);
  assert.ok(md.indexOf('## Summary') < md.indexOf('## Scenarios'));
  assert.ok(md.indexOf('## Scenarios') < md.indexOf('## Environment'));
});

test('renderMarkdown: a failing run that finished is FAIL, not INTERRUPTED', () => {
  const s = fixtureScenario({ name: 'x', verdicts: [v('x', 'extra', 'FAIL')] });
  const md = renderMarkdown(fixtureRun({ scenarios: [s], summary: [], interrupted: false, exitCode: 1 }));
  assert.match(md, /\*\*Status: FAIL\*\*/);
  assert.doesNotMatch(md, /INTERRUPTED/);
  assert.match(md, /\| extra \| `m < 1` \| — \| 0 \| \*\*FAIL\*\* \| x \|/, 'an empty stored summary is rebuilt');
});

test('renderMarkdown: a run without scenarios or thresholds', () => {
  const md = renderMarkdown(fixtureRun({ scenarios: [], summary: [], interrupted: false, exitCode: 0 }));
  assert.match(md, /\*\*Status: PASS\*\*/);
  assert.match(md, /_No thresholds were judged\._/);
  assert.match(md, /_No scenario ran\._/);
});

test('renderSummaryTerminal: columns, values, colour only when asked', () => {
  const run = fixtureRun();
  const plain = renderSummaryTerminal(run.summary, { color: false });
  assert.doesNotMatch(plain, ANSI);
  const header = plain.split('\n').find((l) => l.includes('metric'))!;
  assert.deepEqual(
    header
      .split('│')
      .map((c) => c.trim())
      .filter(Boolean),
    ['metric', 'target', 'excellent', 'measured', 'verdict'],
  );
  const rows = plain
    .split('\n')
    .filter((l) => l.startsWith('│'))
    .slice(1);
  assert.deepEqual(
    rows.map((l) => l.split('│')[1]?.trim()),
    ['p99 at 1K connections', 'throughput', 'distribution deviation', 'extra check'],
  );
  // Compact by default: the expressions without their metric key; --wide keeps them whole.
  assert.deepEqual(
    rows[0]
      ?.split('│')
      .map((c) => c.trim())
      .filter(Boolean),
    ['p99 at 1K connections', '< 20', '< 10', '12.5', 'PASS'],
  );
  const wideRows = renderSummaryTerminal(run.summary, { color: false, wide: true })
    .split('\n')
    .filter((l) => l.startsWith('│'))
    .slice(1);
  assert.deepEqual(
    wideRows[0]
      ?.split('│')
      .map((c) => c.trim())
      .filter(Boolean),
    ['p99 at 1K connections', 'p99_ms_c1000 < 20', 'p99_ms_c1000 < 10', '12.5', 'PASS'],
  );
  assert.match(renderSummaryTerminal(run.summary, { color: true }), /\u001b\[32mPASS\u001b\[0m/);
  assert.match(renderSummaryTerminal([v('s', 'x', 'FAIL')], { color: true }), /\u001b\[31mFAIL\u001b\[0m/);
});

test('renderScenarioTerminal: title, status, reasons, loads, processes, verdicts', () => {
  const [distribution, latConn, throughput] = fixtureRun().scenarios;
  const lat = renderScenarioTerminal(latConn!, { color: false, wide: true });
  assert.doesNotMatch(lat, ANSI);
  assert.match(lat, /^== lat_conn == p99 at 1000 connections\n/);
  assert.match(lat, /status: INVALID/);
  assert.match(lat, /invalid: only 987 of 1000 connections were established/);
  assert.match(lat, /open loop, 1 µs/);
  assert.match(lat, /987\/1000 \(1234 ms\)/);
  assert.match(lat, /61\.5% \(2 proc, max 33\.1%\)/);
  assert.match(lat, /12\.5 ms/);
  // Compact (default): units in the headers, connections short of the request shown as such.
  const compact = renderScenarioTerminal(latConn!, { color: false });
  assert.match(compact, /│ load +│ engine +│ conn +│ req\/s +│ p50\/p99 ms +│ err +│ gen% +│/);
  assert.match(compact, /│ c1000 +│ open-loop +│ 987\/1000 +│ 5000 +│ 0\.7\/12\.5 +│ 3 +│ 62 +│/);
  const dist = renderScenarioTerminal(distribution!, { color: false });
  assert.match(dist, /Shares\n/);
  assert.match(dist, /backend-8001 \| primary/);
  assert.match(dist, /Processes \(CPU % of one core\)/);
  assert.match(dist, /lb_backend_health\{backend="backend-8002"\}/);
  assert.match(dist, /distribution deviation .* EXCELLENT/);
  assert.match(renderScenarioTerminal(throughput!, { color: true }), /\u001b\[33mINTERRUPTED\u001b\[0m/);
});

test('renderTable and renderServiceTable', () => {
  const t = renderTable({
    title: 'T',
    columns: ['a', 'b'],
    rows: [
      ['x', 1.2345],
      ['y', 2],
    ],
  });
  assert.match(t, /^T\n┌/);
  assert.match(t, /│ x +│ 1\.23 +│/);
  const s = renderServiceTable([{ name: 'backend-8001', role: 'backend', pid: 1234, url: 'http://127.0.0.1:8001' }]);
  assert.match(s, /│ name +│ role +│ pid +│ url +│/);
  assert.match(s, /│ backend-8001 │ backend │ 1234 │ http:\/\/127\.0\.0\.1:8001 │/);
});
