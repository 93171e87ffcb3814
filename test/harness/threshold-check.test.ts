import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../common/config.js';
import { configThresholdIssues } from '../../harness/plan/threshold-check.js';

const KNOWN = [
  { name: 'lat_conn', kind: 'lat_conn' },
  { name: 'distribution', kind: 'distribution' },
  { name: 'my_latency', kind: 'latency_percentiles' },
];

function issuesOf(thresholdsYaml: string): { line?: number; path: string; message: string }[] {
  const config = parseConfigText('c.yaml', `lb:\n  backends: [{ name: b, url: "http://127.0.0.1:1" }]\n${thresholdsYaml}`);
  return configThresholdIssues(config, KNOWN).map(({ line, path, message }) => ({ ...(line !== undefined ? { line } : {}), path, message }));
}

test('config thresholds: known scenarios and metrics (with connection-count suffixes) pass', () => {
  const yaml = [
    'thresholds:',
    '  lat_conn:',
    '    - { name: a, target: "p99_ms_c1000 < 20", excellent: "p99_ratio_c1000 < 3" }',
    '  my_latency:',
    '    - { name: b, target: "p99_ratio < 2" }',
    'profiles:',
    '  ci:',
    '    distribution: [{ name: c, target: "deviation_pct_random < 5" }]',
  ].join('\n');
  assert.deepEqual(issuesOf(yaml), []);
});

test('config thresholds: each unknown metric and scenario is an issue with its line', () => {
  const cases: { name: string; yaml: string; line: number; path: string; message: RegExp }[] = [
    {
      name: 'misspelt metric in thresholds',
      yaml: 'thresholds:\n  distribution:\n    - { name: d, target: "deviaton_pct < 5" }',
      line: 5,
      path: 'thresholds.distribution[0].target',
      message: /unknown metric "deviaton_pct".*did you mean "deviation_pct"\?.*known metrics: deviation_pct, /,
    },
    {
      name: 'suffix without the number',
      yaml: 'thresholds:\n  lat_conn:\n    - { name: d, target: "p99_ms_c < 5" }',
      line: 5,
      path: 'thresholds.lat_conn[0].target',
      message: /unknown metric "p99_ms_c".*known metrics: p99_ms_c\{n\}.*\{n\} is a number/,
    },
    {
      name: 'bad excellent in a profile',
      yaml: 'profiles:\n  ci:\n    my_latency:\n      - { name: d, target: "p99_ms < 5", excellent: "p99_msec < 1" }',
      line: 6,
      path: 'profiles.ci.my_latency[0].excellent',
      message: /unknown metric "p99_msec": not produced by scenario my_latency \(kind latency_percentiles\)/,
    },
    {
      name: 'unknown scenario key',
      yaml: 'thresholds:\n  distributon:\n    - { name: d, target: "deviation_pct < 5" }',
      line: 5,
      path: 'thresholds.distributon',
      message: /unknown scenario "distributon"; did you mean "distribution"\? \(known scenarios: distribution, lat_conn, my_latency\)/,
    },
  ];
  for (const c of cases) {
    const got = issuesOf(c.yaml);
    assert.equal(got.length, 1, `${c.name}: ${JSON.stringify(got)}`);
    assert.equal(got[0]?.line, c.line, c.name);
    assert.equal(got[0]?.path, c.path, c.name);
    assert.match(got[0]?.message, c.message, c.name);
  }
});
