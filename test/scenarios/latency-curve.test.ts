import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { curvePoint, findKnee, runawayReason, showsSaturation, type Curve, type CurvePoint } from '../../harness/scenarios/curve.js';
import { latencyCurveKind } from '../../harness/scenarios/latency-curve.js';
import { startLiveSystem, type LiveSystem } from './live-context.js';
import { itemAt, valueAt } from '../../common/checked.js';

const point = (fraction: number, achievedRps: number, p99Ms: number, errors = 0, offeredRps = achievedRps): CurvePoint => ({
  fraction,
  offeredRps,
  achievedRps,
  p50Ms: p99Ms / 2,
  p99Ms,
  p999Ms: p99Ms * 1.5,
  errors,
});

describe('curve rules', () => {
  test('the knee is the highest achieved rate with p99 at or under the target and errors within the allowance', () => {
    const pts = [point(0.1, 100, 2), point(0.5, 500, 4), point(0.8, 800, 9), point(0.9, 900, 30), point(1, 950, 8)];
    assert.equal(findKnee(pts, [0, 0, 0, 0, 0], 10, 0.001), 950);
    assert.equal(findKnee(pts, [0, 0, 0, 0, 0.5], 10, 0.001), 800, 'a point with errors over the allowance never counts');
    assert.equal(findKnee(pts, [0, 0, 0, 0, 0], 1, 0.001), null);
    assert.equal(findKnee([point(0.1, 0, 0, 10)], [1], 10, 0.001), null, 'nothing answered is no knee');
  });

  test('a sweep stops once latency or errors run away', () => {
    assert.equal(runawayReason(point(1, 900, 50), 0, 100, 0.01), undefined);
    assert.match(runawayReason(point(1.1, 900, 150), 0, 100, 0.01)!, /p99 150 ms > 100 ms/);
    assert.match(runawayReason(point(1.1, 900, 5), 0.05, 100, 0.01)!, /error rate 5\.00% > 1\.00%/);
  });

  test('saturation shows as falling behind the offered rate or p99 past the target', () => {
    assert.equal(showsSaturation(point(1.1, 1000, 5, 0, 1000), 10), false);
    assert.equal(showsSaturation(point(1.1, 900, 5, 0, 1000), 10), true);
    assert.equal(showsSaturation(point(1.1, 1000, 11, 0, 1000), 10), true);
  });

  test('curvePoint counts dropped sends as errors and rounds rates', () => {
    const p = curvePoint(0.5, 1000.4, {
      achievedRate: 990.6,
      latency: { p50Us: 1500, p99Us: 9000, p999Us: 12_345 } as never,
      errors: { timeout: 2 },
      schedule: { late: 0, dropped: 3, latenessP99Us: 0 },
    });
    assert.deepEqual(p, { fraction: 0.5, offeredRps: 1000, achievedRps: 991, p50Ms: 1.5, p99Ms: 9, p999Ms: 12.345, errors: 5 });
  });
});

/** p99 of how late a 1 ms timer fires on this machine now, ms (200 samples). */
async function timerLatenessP99Ms(): Promise<number> {
  const late: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 1));
    late.push(Math.max(0, performance.now() - t0 - 1));
  }
  late.sort((a, b) => a - b);
  return itemAt(late, Math.ceil(0.99 * late.length) - 1, 'the p99 sample');
}

describe('latency_curve against backends of known capacity (real balancer, real sockets)', () => {
  let sys: LiveSystem;
  before(async () => {
    sys = await startLiveSystem();
    // Each backend: 20 requests at a time, 20 ms each = 1,000 req/s at most.
    await sys.setBackendFaults({ concurrencyLimit: 20, serviceTimeMs: 20 });
  });
  after(async () => {
    await sys?.stop();
  });

  test('the knee lies near the capacity measured in the same run, which stays under the known capacity; the sweep goes past it', async (t) => {
    const ctx = sys.context();
    // The knee's p99 target: 3 service times, each stretched by this
    // machine's timer lateness measured now (a busy runner fires the
    // backends' 20 ms timers late, which is the machine, not the sweep).
    const serviceTimeMs = 20;
    const lateMs = await timerLatenessP99Ms();
    const kneeP99TargetMs = Math.ceil(3 * (serviceTimeMs + lateMs));
    t.diagnostic(`timer lateness p99 ${lateMs.toFixed(2)} ms: knee p99 target ${kneeP99TargetMs} ms`);
    const settings = latencyCurveKind.settingsSchema.parse({
      connections: 80,
      fractions: [0.5, 0.8, 1.0, 1.1],
      maxExtraPoints: 3,
      kneeP99TargetMs,
      capacityDurationMs: 1500,
      capacityWarmupMs: 300,
      pointDurationMs: 1000,
      warmupMs: 200,
      timeoutMs: 2000,
    });
    const out = await latencyCurveKind.run(ctx, settings);
    assert.deepEqual(out.invalidReasons, []);
    const curves = out.details['curves'] as Curve[];
    assert.deepEqual(
      curves.map((c) => c.label),
      ['lbbench', 'direct'],
    );
    // The backends' limits: 3 x 1,000 through the balancer, 1,000 direct.
    const known: Record<string, number> = { lbbench: 3000, direct: 1000 };
    for (const c of curves) {
      const cap = valueAt(known, c.label, `the known capacity of ${c.label}`);
      const measured = `${c.label}: capacity ${c.capacityRps} req/s, knee ${c.kneeRps} req/s; points ${JSON.stringify(c.points)}`;
      // The closed-loop phase measured the capacity: a busy machine (late
      // timers, the balancer's CPU) only lowers it, so the known limit is its
      // upper bound; above it, the limit was not enforced or was miscounted.
      assert.ok(c.capacityRps > 0 && c.capacityRps <= 1.05 * cap, `${measured}; known capacity ${cap}`);
      // What is under test is the sweep: from that capacity it finds a knee
      // past the 50% point (a sweep stuck at its first point fails) and
      // goes on past saturation.
      assert.ok(c.kneeRps !== null, `${c.label}: no knee; ${measured}`);
      assert.ok(c.kneeRps >= 0.65 * c.capacityRps && c.kneeRps <= 1.2 * cap, `expected ${0.65 * c.capacityRps}-${1.2 * cap}; ${measured}`);
      // The sweep went past saturation: its last point fell behind or ran away.
      const last = c.points.at(-1);
      assert.ok(last !== undefined && showsSaturation(last, kneeP99TargetMs), `${c.label} never saturated: ${JSON.stringify(c.points)}`);
      for (const p of c.points) assert.deepEqual(Object.keys(p).sort(), ['achievedRps', 'errors', 'fraction', 'offeredRps', 'p50Ms', 'p999Ms', 'p99Ms']);
      t.diagnostic(measured);
    }
    assert.equal(out.metrics['knee_rps'], curves[0]?.kneeRps);
    assert.equal(out.metrics['direct_knee_rps'], curves[1]?.kneeRps);
    assert.equal(out.details['kneeP99TargetMs'], kneeP99TargetMs);
    assert.ok(
      ctx.lines.some((l) => /^lbbench: knee [\d,]+ req\/s/.test(l)),
      ctx.lines.join('\n'),
    );
  });
});
