/**
 * The `open-loop` engine: a constant arrival rate spread evenly in time
 * over keep-alive connections, latency measured in µs from each request's
 * intended send time (wrk2's model, corrected for coordinated omission),
 * run on the raw-socket generator's processes (./generator/) whose
 * histograms and counters merge exactly.
 */
import type { EngineCapabilities, LoadEngine } from './engine.js';
import { GENERATOR_DEFAULTS, GENERATOR_RESOLUTION_US, runGenerators, type GeneratorOptions } from './generator/index.js';

export type { GeneratorReport, TickerName, TransportName } from './generator/index.js';

/** Tuning of the open-loop engine: the generator's options. Every field is optional. */
export type OpenLoopOptions = GeneratorOptions;

/** What the open-loop engine can do, with `maxConnectionsPerProcess` from its options. */
export function openLoopCapabilities(options: Pick<GeneratorOptions, 'maxConnectionsPerProcess'> = {}): EngineCapabilities {
  return Object.freeze({
    summary: 'open loop on raw sockets: a constant arrival rate (--rate, required), latency in µs from the intended send time',
    rate: 'required',
    multiProcess: true,
    maxConnectionsPerProcess: options.maxConnectionsPerProcess ?? GENERATOR_DEFAULTS.maxConnectionsPerProcess,
    latencyResolutionUs: GENERATOR_RESOLUTION_US,
    latencyFrom: 'intended',
    series: true,
    threads: false,
    loopbackOnly: true,
  });
}

/** The open-loop engine. `options` tune it; the defaults suit the harness. */
export function createOpenLoopEngine(options: OpenLoopOptions = {}): LoadEngine {
  const engine = { name: 'open-loop', mode: 'open', capabilities: openLoopCapabilities(options) } as const;
  return {
    name: engine.name,
    loadModel: engine.mode,
    capabilities: engine.capabilities,
    available: async () => true,
    run: (spec, signal) => runGenerators(engine, spec, options, signal),
  };
}
