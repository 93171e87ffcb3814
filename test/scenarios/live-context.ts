/**
 * A real ScenarioContext for runner tests: the fixture topology started on
 * port 0 (real balancer, real backends), real engines, real scrapes and
 * sampling. Backends can be given faults (stalls, a fixed capacity) through
 * their own `/control` endpoint, as a user would with `lbbench serve`.
 */
import path from 'node:path';
import { loadConfig, type LbbenchConfig } from '../../common/config.js';
import { PACKAGE_ROOT } from '../../common/paths.js';
import { getEngine } from '../../harness/engines/index.js';
import type { LoadResult } from '../../harness/engines/engine.js';
import { scrapeMetrics, startSampling } from '../../harness/sampling/sampler.js';
import type { ScenarioContext } from '../../harness/result/scenario-api.js';
import { startServices, type ManagedServices } from '../../harness/services/services.js';

export const FIXTURE_CONFIG = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'config.yaml');

export interface LiveSystem {
  config: LbbenchConfig;
  services: ManagedServices;
  /** Builds a context for one runner call; `lines` and `loads` collect what it logs and runs. */
  context(): ScenarioContext & { lines: string[]; loads: { label: string; result: LoadResult }[] };
  /** POSTs `faults` to every backend's /control. */
  setBackendFaults(faults: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export async function startLiveSystem(): Promise<LiveSystem> {
  const config = loadConfig(FIXTURE_CONFIG);
  const services = await startServices(config);
  const signal = new AbortController().signal;
  return {
    config,
    services,
    context() {
      const lines: string[] = [];
      const loads: { label: string; result: LoadResult }[] = [];
      return {
        config,
        quick: true,
        services,
        signal,
        lines,
        loads,
        engine: (name) => getEngine(name, { generatorCpuLimitPercent: config.harness.generatorCpuLimitPercent }),
        async load(label, name, spec) {
          const engine = await getEngine(name, { generatorCpuLimitPercent: config.harness.generatorCpuLimitPercent });
          const result = await engine.run(spec, signal);
          loads.push({ label, result });
          return result;
        },
        scrape: () => scrapeMetrics(services.metricsUrl, signal),
        sample: (o = {}) =>
          startSampling({
            metricsUrl: services.metricsUrl,
            intervalMs: o.intervalMs ?? config.harness.sampleIntervalMs,
            gauges: o.gauges ?? [],
            processes: () => services.list().map((s) => ({ name: s.name, pid: s.pid })),
          }),
        log: (line) => lines.push(line),
      };
    },
    async setBackendFaults(faults) {
      for (const url of services.backends.values()) {
        const res = await fetch(`${url}/control`, { method: 'POST', body: JSON.stringify(faults), headers: { connection: 'close' } });
        await res.text();
        if (res.status !== 200) throw new Error(`${url}/control answered ${res.status}`);
      }
    },
    stop: () => services.stop(),
  };
}
