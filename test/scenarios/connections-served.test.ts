import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionsKind } from '../../harness/scenarios/connections.js';
import { judgeServedLevel } from '../../harness/scenarios/served.js';
import { judge, judgeScenario } from '../../harness/judge/thresholds.js';
import { startLiveSystem, type LiveSystem } from './live-context.js';
import { valueAt } from '../../common/checked.js';

const THRESHOLD = [{ name: 'active connections', target: 'connections_served >= 40' }];
/** A small held level: 40 connections through the real balancer, 100 req/s spread over them. */
const SMALL = {
  levels: [40],
  rate: 100,
  durationMs: 1500,
  processes: 1,
  sourceAddresses: 1,
  lbWorkers: null,
  clientIdleMs: null,
  timeoutMs: 5000,
  sampleIntervalMs: 100,
};

describe('connections: held means served (real balancer and backends)', () => {
  let sys: LiveSystem;
  before(async () => {
    sys = await startLiveSystem();
  });
  after(async () => {
    await sys?.stop();
  });

  test('a level held and answered fast is served and PASSes', async () => {
    const ctx = sys.context();
    const out = await connectionsKind.run(ctx, connectionsKind.settingsSchema.parse({ ...SMALL, path: '/echo' }));
    assert.deepEqual(out.invalidReasons, []);
    assert.equal(out.metrics['connections_served'], 40);
    assert.equal(out.metrics['highest_level_served'], 40);
    assert.equal(out.metrics['served_c40'], 1);
    assert.equal(judge('connections', out.metrics, THRESHOLD)[0]?.verdict, 'PASS');
    assert.ok(
      ctx.lines.some((l) => /Highest level served: 40/.test(l)),
      ctx.lines.join('\n'),
    );
  });

  test('a level held by a backend that stalls (every answer 1.5 s late) is not served: FAIL, with the reason', async () => {
    const ctx = sys.context();
    const out = await connectionsKind.run(ctx, connectionsKind.settingsSchema.parse({ ...SMALL, path: '/delay/1500' }));
    assert.deepEqual(out.invalidReasons, []);
    // The connections were reached: the balancer held them all...
    assert.equal(out.metrics['connections_established'], 40);
    assert.ok(valueAt(out.metrics, 'active_connections_peak', 'out.metrics.active_connections_peak') >= 40, `peak ${out.metrics['active_connections_peak']}`);
    // ...but did not serve them within the bound.
    assert.equal(out.metrics['connections_served'], 0);
    assert.equal(out.metrics['served_c40'], 0);
    assert.ok(valueAt(out.metrics, 'p99_ms', 'out.metrics.p99_ms') >= 1000);
    const [verdict] = judgeScenario('connections', { metrics: out.metrics, ...(out.findings ? { findings: out.findings } : {}) }, THRESHOLD).verdicts;
    assert.equal(verdict!.verdict, 'FAIL');
    assert.match(
      verdict!.reason ?? '',
      /^40 connections reached \(peak lb_active_connections \d+\) but not served: p99 [\d.]+ ms > 1000 ms; highest level served: none$/,
    );
    assert.ok(
      ctx.lines.some((l) => /No level was served: 40 p99 [\d.]+ ms > 1000 ms/.test(l)),
      ctx.lines.join('\n'),
    );
    assert.match(String(out.tables[0]?.rows[0]?.at(-1)), /^NO: p99/);
  });
});

describe('judgeServedLevel', () => {
  const bounds = { maxP99Ms: 1000, maxErrorRate: 0.001, connectionsTolerance: 0 };
  const result = (over: Partial<Parameters<typeof judgeServedLevel>[1]> & { p99Us?: number }) => ({
    connectionsEstablished: 100,
    requests: 10_000,
    errors: {},
    latency: { count: 10_000, p99Us: over.p99Us ?? 5_000 } as never,
    ...over,
  });
  const cases: [string, ReturnType<typeof result>, boolean, RegExp | undefined][] = [
    ['all established, fast, no errors', result({}), true, undefined],
    ['p99 over the bound', result({ p99Us: 1_500_000 }), false, /p99 1500\.00 ms > 1000 ms/],
    ['p99 exactly at the bound is served', result({ p99Us: 1_000_000 }), true, undefined],
    ['missing connections', result({ connectionsEstablished: 81 }), false, /only 81 of 100 connections established/],
    ['errors over the allowance', result({ errors: { timeout: 20 } }), false, /20 errors = 0\.20% > 0\.10% allowed/],
    ['dropped sends count as errors', result({ schedule: { late: 0, dropped: 50, latenessP99Us: 0 } }), false, /50 sends dropped/],
    ['nothing answered', result({ requests: 0, latency: { count: 0, p99Us: 0 } as never }), false, /no request was answered/],
  ];
  for (const [name, r, served, reason] of cases) {
    test(name, () => {
      const v = judgeServedLevel(100, r, bounds);
      assert.equal(v.served, served, v.reasons.join('; '));
      if (reason) assert.match(v.reasons.join('; '), reason);
    });
  }
});
