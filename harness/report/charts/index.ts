/**
 * Every chart of a run, in report order: per scenario (run order), the
 * builders below that find their data. Each builder looks at the shape of
 * the scenario's details and metrics, not at its name, so a scenario file of
 * the same kind under another name gets the same charts.
 */
import type { RunResult } from '../../result/scenario-api.js';
import { scenarioNames, variantsOf, type Chart, type ScenarioVariant } from './chart.js';
import { distributionCharts } from './distribution-shares.js';
import { failoverTimelineCharts } from './failover-timeline.js';
import { latencyCurveCharts } from './latency-curve.js';
import { latencySpectrumCharts } from './latency-spectrum.js';
import { latencyVsConnectionsCharts } from './latency-vs-connections.js';
import { memoryCharts } from './memory.js';
import { throughputCharts } from './throughput.js';

/** A chart builder: pure, [] when the scenario has none of its data. */
export type ChartBuilder = (scenario: string, variants: readonly ScenarioVariant[]) => Chart[];

/** The builders, in the order their charts appear within a scenario. */
export const CHART_BUILDERS: readonly ChartBuilder[] = [
  latencyVsConnectionsCharts,
  latencySpectrumCharts,
  latencyCurveCharts,
  failoverTimelineCharts,
  distributionCharts,
  memoryCharts,
  throughputCharts,
];

/** The charts of one scenario (all its targets and repeats). */
export function scenarioCharts(run: Pick<RunResult, 'scenarios'>, scenario: string): Chart[] {
  const variants = variantsOf(run, scenario);
  return CHART_BUILDERS.flatMap((build) => build(scenario, variants)).filter((c) => c.series.some((s) => s.points.length > 0));
}

/** Every chart of the run, grouped by scenario in run order. */
export function buildCharts(run: Pick<RunResult, 'scenarios'>): Chart[] {
  return scenarioNames(run).flatMap((name) => scenarioCharts(run, name));
}
