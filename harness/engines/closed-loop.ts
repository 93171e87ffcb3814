/**
 * The `closed-loop` engine: lbbench's own closed loop. Each keep-alive
 * connection sends its next request as soon as the previous response has
 * completed; there is no schedule and no rate. It runs on the raw-socket
 * generator's processes (./generator/: raw sockets, the minimal response
 * parser that counts body bytes without copying them) with the closed
 * pacer, so it costs far less CPU per byte than autocannon, which parses
 * every body in JavaScript: it is the engine for throughput runs with large
 * responses.
 *
 * Latency is in µs from each request's actual send time (closed loop has no
 * intended time), connections are established and primed before the
 * window, and several processes (`spec.processes`) merge exactly.
 */
import type { EngineCapabilities, LoadEngine } from './engine.js';
import { createGeneratorEngine, generatorCapabilities, type GeneratorOptions } from './generator/index.js';
import { DEFAULT_GENERATOR_CPU_LIMIT_PERCENT } from './spec.js';

/** Tuning of the closed-loop engine. Every field is optional. */
export interface ClosedLoopOptions extends Pick<
  GeneratorOptions,
  'transport' | 'connectConcurrency' | 'maxConnectionsPerProcess' | 'startLeadMs' | 'onProcessReports'
> {
  /** A generator process above this CPU over the window is flagged
   * `generator.saturated`, % of one core. Default
   * DEFAULT_GENERATOR_CPU_LIMIT_PERCENT (80; config
   * `harness.generatorCpuLimitPercent`). */
  generatorCpuLimitPercent?: number;
}

/** What the closed-loop engine can do, with `maxConnectionsPerProcess` from its options. */
export function closedLoopCapabilities(options: Pick<GeneratorOptions, 'maxConnectionsPerProcess'> = {}): EngineCapabilities {
  return generatorCapabilities(
    {
      summary: 'closed loop on raw sockets: the most bytes/s; several processes',
      rate: 'none',
      latencyFrom: 'actual',
    },
    options,
  );
}

/** The closed-loop engine. `options` tune it; the defaults suit the harness. */
export function createClosedLoopEngine(options: ClosedLoopOptions = {}): LoadEngine {
  const { generatorCpuLimitPercent, ...rest } = options;
  const generatorOptions: GeneratorOptions = { ...rest, maxProcessCpuPercent: generatorCpuLimitPercent ?? DEFAULT_GENERATOR_CPU_LIMIT_PERCENT };
  return createGeneratorEngine({ name: 'closed-loop', mode: 'closed', capabilities: closedLoopCapabilities(options) }, generatorOptions);
}
