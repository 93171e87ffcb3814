/**
 * A RunResult with the data of every chart, in known amounts, for the chart
 * renderer and browser tests: two targets (lbbench, nginx) for lat_conn and
 * throughput, three repeats of latency_curve, a 50-bucket failover timeline
 * with two events, and schema-2 fields only where they matter.
 */
import type { RunResult, ScenarioResult } from '../../harness/result/scenario-api.js';
import { fixtureRun, fixtureScenario } from './report-fixture.js';
import { itemAt } from '../../common/checked.js';

/** How many points each fixture series has; the tests count them. */
export const FIXTURE_COUNTS = {
  levels: 3,
  spectrum: 12,
  timeline: 50,
  events: 2,
  backends: 3,
  rssSamples: 30,
  curvePoints: 5,
  curveRepeats: 3,
} as const;

function withTarget(s: ScenarioResult, target: string): ScenarioResult {
  return { ...s, target } as ScenarioResult;
}

function latConn(target: string, slowdown: number): ScenarioResult {
  const levels = [100, 500, 1000].map((c, i) => ({
    connections: c,
    p99Us: (2000 + 1000 * i) * slowdown,
    p50Us: 400 * slowdown,
    maxConnections: c,
    capacityRps: 12000 - 1000 * i,
    directP99Us: 1500 + 500 * i,
  }));
  return withTarget(
    fixtureScenario({ name: 'lat_conn', details: { rate: 1000, levels }, metrics: { p99_ms_c1000: itemAt(levels, 2, 'the c1000 level').p99Us / 1000 } }),
    target,
  );
}

function spectrum(scale: number): { percentile: number; valueUs: number }[] {
  const ps = [0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100];
  return ps.map((p, i) => ({ percentile: p, valueUs: Math.round(300 * scale * 1.5 ** i) }));
}

/** The chart fixture run. */
export function chartFixtureRun(): RunResult {
  const timeline = Array.from({ length: FIXTURE_COUNTS.timeline }, (_, i) => ({
    tMs: i * 100,
    requests: i === 20 ? 80 : 100,
    errors: i === 20 ? 20 : 0,
    p99Us: i === 20 ? 50_000 : 2000 + i,
    events: [],
  }));
  const failover = fixtureScenario({
    name: 'failover',
    details: {
      victim: 'backend-8002',
      events: [
        { tMs: 1000, label: 'kill backend-8002' },
        { tMs: 3500, label: 'restart backend-8002' },
      ],
      timeline,
    },
    metrics: { detection_ms: 24 },
  });
  const shares = (observed: number[]): { name: string; weight: number; expectedShare: number; observedShare: number }[] =>
    [
      { name: 'backend-8001', weight: 5, expectedShare: 0.5 },
      { name: 'backend-8002', weight: 3, expectedShare: 0.3 },
      { name: 'backend-8003', weight: 2, expectedShare: 0.2 },
    ].map((b, i) => ({ ...b, observedShare: itemAt(observed, i, `the observed share of ${b.name}`) }));
  const distribution = fixtureScenario({
    name: 'distribution',
    details: {
      algorithms: [
        { algorithm: 'weighted_round_robin', backends: shares([0.5, 0.3, 0.2]) },
        { algorithm: 'random', backends: shares([0.49, 0.31, 0.2]) },
      ],
    },
  });
  const phases = ['idle', 'c100', 'c1000'];
  const memory = fixtureScenario({
    name: 'memory_profile',
    details: {
      rssSamples: Array.from({ length: FIXTURE_COUNTS.rssSamples }, (_, i) => ({
        atMs: 1_000_000 + i * 500,
        phase: phases[Math.floor(i / 10)],
        rssBytes: (200 + i) * 1024 * 1024,
      })),
    },
    metrics: { rss_idle_mb: 200, rss_mb_c100: 210, rss_mb_c1000: 229 },
  });
  const percentiles = fixtureScenario({ name: 'latency_percentiles', details: { spectrum: { lb: spectrum(1), direct: spectrum(0.5) } } });
  const throughput = (target: string, gbps: number): ScenarioResult =>
    withTarget(fixtureScenario({ name: 'throughput', metrics: { gigabytes_per_second: gbps, direct_gigabytes_per_second: 4.2 } }), target);
  const curve = (label: string, k: number) => ({
    label,
    capacityRps: 10000 * k,
    kneeRps: 8000 * k,
    points: [0.1, 0.3, 0.5, 0.7, 0.9].map((fraction) => ({
      fraction,
      offeredRps: 10000 * k * fraction,
      achievedRps: 10000 * k * fraction,
      p50Ms: 0.3,
      p99Ms: 1 + (10 * fraction ** 4) / k,
      p999Ms: 2,
      errors: 0,
    })),
  });
  const repeats = Array.from({ length: FIXTURE_COUNTS.curveRepeats }, (_, r) => ({
    loads: [],
    lines: [],
    metrics: { knee_rps: 8000 + r },
    details: { curves: [curve('direct', 2), curve('lbbench', 1 + r / 10)], kneeP99TargetMs: 10 },
  }));
  const latencyCurve = {
    ...fixtureScenario({ name: 'latency_curve', metrics: { knee_rps: 8001 }, details: repeats[1]?.details }),
    repeats,
    samples: { knee_rps: [8000, 8001, 8002] },
  } as ScenarioResult;
  const scenarios = [
    latConn('lbbench', 1),
    latConn('nginx', 0.8),
    percentiles,
    failover,
    distribution,
    memory,
    throughput('lbbench', 1.2),
    throughput('nginx', 1.6),
    latencyCurve,
  ];
  return fixtureRun({ scenarios, summary: [], interrupted: false, exitCode: 0, runId: 'chart-fixture' });
}
