/**
 * The `closed-loop` engine: lbbench's own closed loop. Each keep-alive
 * connection sends its next request as soon as the previous response has
 * completed; there is no schedule and no rate. It runs on the open-loop
 * engine's generator processes (raw sockets, the minimal response parser
 * that counts body bytes without copying them) in their closed mode, so it
 * costs far less CPU per byte than autocannon, which parses every body in
 * JavaScript: it is the engine for throughput runs with large responses.
 *
 * Latency is in µs from each request's actual send time (closed loop has no
 * intended time), connections are established and primed before the
 * window, and several processes (`spec.processes`) merge exactly.
 */
import type { LoadEngine } from './engine.js';
import { runGenerators, type OpenLoopOptions } from './open-loop/index.js';

/** Tuning of the closed-loop engine. Every field is optional. */
export interface ClosedLoopOptions
  extends Pick<OpenLoopOptions, 'transport' | 'connectConcurrency' | 'maxConnectionsPerProcess' | 'startLeadMs' | 'onProcessReports'> {
  /** A generator process above this CPU over the window is flagged
   * `generator.saturated`, % of one core. Default 80 (config
   * `harness.generatorCpuLimitPercent`). */
  generatorCpuLimitPercent?: number;
}

/** Default per-process CPU limit, % of one core (DESIGN: ~80%). */
const DEFAULT_CPU_LIMIT_PERCENT = 80;

/** The closed-loop engine. `options` tune it; the defaults suit the harness. */
export function createClosedLoopEngine(options: ClosedLoopOptions = {}): LoadEngine {
  const { generatorCpuLimitPercent, ...rest } = options;
  const generatorOptions: OpenLoopOptions = { ...rest, maxProcessCpuPercent: generatorCpuLimitPercent ?? DEFAULT_CPU_LIMIT_PERCENT };
  return {
    name: 'closed-loop',
    loadModel: 'closed',
    available: async () => true,
    run: (spec, signal) => runGenerators('closed', spec, generatorOptions, signal),
  };
}
