import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { judgeScenario } from '../../harness/judge/thresholds.js';
import { buildComparisons, metricDirection, scenarioComparison } from '../../harness/report/comparison.js';
import type { ScenarioResult } from '../../harness/result/scenario-api.js';
import { BackendCounters } from '../../harness/services/targets/backend-counters.js';
import { mapHaproxySamples } from '../../harness/services/targets/haproxy-target.js';
import { NGINX_MISSING, parseStubStatus } from '../../harness/services/targets/nginx-target.js';
import { unavailableMetrics, withoutUnavailable } from '../../harness/services/targets/unavailable-metrics.js';
import { parsePrometheusText } from '../../harness/sampling/prom-text.js';
import { itemAt, valueAt } from '../../common/checked.js';

test('figures built on a metric the target lacks are unavailable with its reason; the rest stay', () => {
  const { metrics, unavailable } = withoutUnavailable(
    { detection_ms: 12, client_errors: 0, deviation_pct: 0.1 },
    ['detection_ms', 'recovery_ms'],
    NGINX_MISSING,
  );
  assert.deepEqual(metrics, { client_errors: 0, deviation_pct: 0.1 });
  assert.deepEqual(Object.keys(unavailable).sort(), ['detection_ms', 'recovery_ms']);
  assert.match(valueAt(unavailable, 'detection_ms', 'unavailable.detection_ms'), /no health gauge/);
  assert.deepEqual(unavailableMetrics(['detection_ms'], {}), {});
});

test('judge: a threshold on an unavailable metric is N/A with the reason, never PASS', () => {
  const thresholds = [
    { name: 'failover detection', target: 'detection_ms < 10000' },
    { name: 'errors', target: 'client_errors == 0' },
  ];
  const [detection, errors] = judgeScenario(
    'failover',
    { metrics: { client_errors: 0 }, unavailable: { detection_ms: 'nginx open source has no health gauge' } },
    thresholds,
  ).verdicts;
  assert.equal(detection!.verdict, 'N/A');
  assert.equal(detection!.reason, 'nginx open source has no health gauge');
  assert.equal(errors!.verdict, 'PASS');
});

test('HAProxy exporter samples map onto lbbench names', () => {
  const text = [
    'haproxy_frontend_current_sessions{proxy="lbbench_in"} 7',
    'haproxy_frontend_current_sessions{proxy="lbbench_metrics"} 1',
    'haproxy_frontend_bytes_out_total{proxy="lbbench_in"} 1000',
    'haproxy_server_status{proxy="lbbench_backends",server="b1",state="DOWN"} 1',
    'haproxy_server_status{proxy="lbbench_backends",server="b1",state="UP"} 0',
    'haproxy_server_status{proxy="lbbench_backends",server="b2",state="UP"} 1',
    'haproxy_server_http_responses_total{proxy="lbbench_backends",server="b2",code="2xx"} 42',
  ].join('\n');
  const out = mapHaproxySamples(parsePrometheusText(text));
  const find = (name: string, labels: Record<string, string>): number | undefined =>
    out.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  assert.equal(find('lb_active_connections', {}), 7);
  assert.equal(find('lb_bytes_total', { direction: 'out' }), 1000);
  assert.equal(find('lb_backend_health', { backend: 'b1' }), 0);
  assert.equal(find('lb_backend_health', { backend: 'b2' }), 1);
  assert.equal(find('lb_requests_total', { backend: 'b2', code: '2xx' }), 42);
});

test('stub_status text parses', () => {
  const s = parseStubStatus('Active connections: 3 \nserver accepts handled requests\n 10 10 25 \nReading: 0 Writing: 1 Waiting: 2 \n');
  assert.deepEqual(s, { active: 3, accepts: 10, handled: 10, requests: 25 });
  assert.equal(parseStubStatus('<html>'), undefined);
});

// A scripted /stats endpoint: a backend "restarts" (new pid, counters from 0).
let stats = { pid: 1, total: 0, health: 0, connections: 0 };
let server: http.Server;
let url = '';
before(async () => {
  server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        pid: stats.pid,
        requests: { total: stats.total, byFamily: { health: stats.health } },
        connections: { open: 1, total: stats.connections },
        bytes: { in: 0, out: stats.total * 10 },
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test("backend counters exclude health checks and stay monotonic across a backend's restart", async () => {
  const counters = new BackendCounters(() => new Map([['b', url]]));
  const requests = async (): Promise<number> => (await counters.collect(AbortSignal.timeout(2000))).find((s) => s.name === 'lb_requests_total')!.value;
  stats = { pid: 1, total: 105, health: 5, connections: 3 };
  assert.equal(await requests(), 100);
  stats = { pid: 2, total: 12, health: 2, connections: 1 };
  assert.equal(await requests(), 110, 'the first process counted 100, the new one 10');
  const all = await counters.collect(AbortSignal.timeout(2000));
  assert.equal(all.find((s) => s.name === 'lb_upstream_connects_total')!.value, 4);
  assert.equal(all.find((s) => s.name === 'lb_bytes_total' && s.labels['direction'] === 'out')!.value, 1050 + 120);
});

function result(target: string, metrics: Record<string, number>, unavailable?: Record<string, string>): ScenarioResult {
  return {
    name: 'failover',
    target,
    description: '',
    status: 'ok',
    settings: {},
    thresholds: [{ name: 'failover detection', target: 'detection_ms < 10000' }],
    verdicts: judgeScenario('failover', { metrics, ...(unavailable ? { unavailable } : {}) }, [{ name: 'failover detection', target: 'detection_ms < 10000' }])
      .verdicts,
    startedAt: '',
    durationMs: 0,
    lines: [],
    loads: [],
    metrics,
    tables: [],
    invalidReasons: [],
    details: {},
    ...(unavailable ? { unavailable } : {}),
  };
}

test('comparison: one column per target plus direct, ratios to the best target, N/A where unavailable', () => {
  const t = scenarioComparison([
    result('lbbench', { detection_ms: 300, requests_per_second: 100, direct_requests_per_second: 400 }),
    result('nginx', { requests_per_second: 200 }, { detection_ms: 'no gauge' }),
    result('haproxy', { detection_ms: 100, requests_per_second: 50 }),
  ]);
  assert.deepEqual(t.columns, ['FIGURE', 'direct', 'lbbench', 'nginx', 'haproxy']);
  const row = (f: string): (string | number)[] => t.rows.find((r) => r[0] === f)!;
  assert.deepEqual(row('detection_ms'), ['detection_ms', '—', '300 (x3)', 'N/A', '100 (x1)']);
  assert.deepEqual(row('requests_per_second'), ['requests_per_second', '400', '100 (x0.5)', '200 (x1)', '50 (x0.25)']);
  assert.equal(metricDirection('p99_ms_c1000'), 'lower');
  assert.equal(metricDirection('gigabytes_per_second'), 'higher');
});

test('buildComparisons: a table per scenario and the five-target matrix, nothing for one target', () => {
  const scenarios = [result('lbbench', { detection_ms: 30 }), result('nginx', {}, { detection_ms: 'no gauge' })];
  const tables = buildComparisons({
    scenarios,
    targets: [
      { name: 'lbbench', kind: 'lbbench', notes: [] },
      { name: 'nginx', kind: 'nginx', notes: [] },
    ],
  });
  assert.equal(tables.length, 2);
  const matrix = itemAt(tables, 1, 'tables[1]');
  const detection = matrix.rows.find((r) => r[0] === 'failover detection')!;
  assert.deepEqual(detection.slice(2), ['30 PASS', 'N/A']);
  assert.deepEqual(buildComparisons({ scenarios: [itemAt(scenarios, 0, 'scenarios[0]')] }), []);
});
