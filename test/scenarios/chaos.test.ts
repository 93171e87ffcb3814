/**
 * chaos against the real fixture topology (port 0): a short run does every
 * step of the schedule (kills, restarts, faults through /control), reports
 * them on the timeline, accounts for every client failure, and leaves the
 * backends running and fault-free for whatever runs next.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { valueAt } from '../../common/checked.js';
import { chaosKind } from '../../harness/scenarios/chaos.js';
import { startLiveSystem, type LiveSystem } from './live-context.js';

describe('chaos (real balancer and backends)', () => {
  let sys: LiveSystem;
  before(async () => {
    sys = await startLiveSystem();
  });
  after(async () => {
    await sys?.stop();
  });

  test('runs the whole schedule, accounts for every failure, and leaves the backends up and clean', async () => {
    const ctx = sys.context();
    const s = chaosKind.settingsSchema.parse({
      durationMs: 8000,
      getRate: 100,
      postRate: 40,
      getConnections: 10,
      postConnections: 5,
      churnPerSecond: 10,
      latencySpikeMs: 100,
      cutRate: 0.2,
      sampleIntervalMs: 250,
    });
    const out = await chaosKind.run(ctx, s);
    assert.deepEqual(out.invalidReasons, []);
    const events = (out.details['events'] as { label: string }[]).map((e) => e.label);
    for (const want of [
      /^kill backend-b$/,
      /^restart backend-b$/,
      /latency 100 ms/,
      /error rate 0.2/,
      /cut 0.2 mid-response/,
      /hang$/,
      /hang off/,
      /^kill backend-c$/,
      /^restart backend-c$/,
    ]) {
      assert.ok(
        events.some((e) => want.test(e)),
        `no event ${want} in ${events.join(', ')}`,
      );
    }
    const m = out.metrics;
    const get = (k: string) => valueAt(m, k, `metric ${k}`);
    assert.ok(get('get_requests') > 400 && get('post_requests') > 150, JSON.stringify(m));
    // The cuts were injected and each is a client failure the balancer counted.
    assert.ok(get('get_cut_by_backend') + get('post_cut_by_backend') > 0, JSON.stringify(m));
    assert.ok(get('failures_counted_by_balancer') >= get('get_cut_by_backend') + get('post_cut_by_backend'), JSON.stringify(m));
    assert.equal(m['worker_restarts'], 0);
    assert.equal(m['failures_before_body'], 0, JSON.stringify(out.details['balancerErrorsByKind']));
    assert.ok(Number.isFinite(m['fd_slope_per_min']) && Number.isFinite(m['rss_slope_mb_per_min']));
    assert.ok((out.details['timeline'] as unknown[]).length >= 20);
    // Every backend answers again, with no fault left on.
    for (const url of sys.services.backends.values()) {
      const faults = (await (await fetch(`${url}/control`)).json()) as Record<string, unknown>;
      assert.deepEqual(
        { hang: faults['hang'], errorRate: faults['errorRate'], closeRate: faults['closeRate'], latencyMs: faults['latencyMs'] },
        { hang: false, errorRate: 0, closeRate: 0, latencyMs: 0 },
        url,
      );
    }
  });
});
