/**
 * The `open-loop` engine: a constant arrival rate spread evenly in time
 * over keep-alive connections, latency measured in µs from each request's
 * intended send time (wrk2's model, corrected for coordinated omission),
 * run on the raw-socket generator's processes (./generator/, the open
 * pacer) whose histograms and counters merge exactly.
 */
import type { EngineCapabilities, LoadEngine } from './engine.js';
import { createGeneratorEngine, generatorCapabilities, type GeneratorOptions } from './generator/index.js';

export type { GeneratorReport, TickerName, TransportName } from './generator/index.js';

/** Tuning of the open-loop engine: the generator's options. Every field is optional. */
export type OpenLoopOptions = GeneratorOptions;

/** What the open-loop engine can do, with `maxConnectionsPerProcess` from its options. */
export function openLoopCapabilities(options: Pick<GeneratorOptions, 'maxConnectionsPerProcess'> = {}): EngineCapabilities {
  return generatorCapabilities(
    {
      summary: 'constant arrival rate (--rate); µs latency from the intended send',
      rate: 'required',
      latencyFrom: 'intended',
    },
    options,
  );
}

/** The open-loop engine. `options` tune it; the defaults suit the harness. */
export function createOpenLoopEngine(options: OpenLoopOptions = {}): LoadEngine {
  return createGeneratorEngine({ name: 'open-loop', mode: 'open', capabilities: openLoopCapabilities(options) }, options);
}
