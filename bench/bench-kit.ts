/**
 * What the benchmarks share: the system under test booted the way the
 * harness boots it (harness/services: three test backends and the balancer
 * from the bundled config.yaml, on free loopback ports), a hard time bound
 * with Ctrl-C handling, and the `median [min-max]` spread format of STYLE's
 * speed claims. Benchmarks stay out of the test suite; this module does no
 * load of its own.
 */
import path from 'node:path';
import { loadConfig, type LbbenchConfig, type LbConfig } from '../common/config.js';
import { deepMerge, type DeepPartial } from '../common/objects.js';
import { PACKAGE_ROOT } from '../common/paths.js';
import { median } from '../common/stats.js';
import { killAllChildrenNow, startServices, type ManagedServices } from '../harness/services/services.js';

/** The values as `median [min-max]` with `digits` decimals; one value alone;
 * `-` for none. */
export function formatSpread(values: readonly number[], digits: number): string {
  if (values.length === 0) return '-';
  const f = (x: number): string => x.toFixed(digits);
  if (values.length === 1) return f(median(values));
  return `${f(median(values))} [${f(Math.min(...values))}-${f(Math.max(...values))}]`;
}

/**
 * The bundled config.yaml with every port 0 (picked at start) and every
 * address on 127.0.0.1, so a bench never clashes with `lbbench serve` or
 * another bench, then `overrides` deep-merged into its `lb` section.
 * Backend names are kept; their URLs become `http://127.0.0.1:0`.
 */
export function benchConfig(overrides: DeepPartial<LbConfig> = {}, file = path.join(PACKAGE_ROOT, 'config.yaml')): LbbenchConfig {
  const base = loadConfig(file);
  const loopback: DeepPartial<LbConfig> = {
    listen: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    backends: base.lb.backends.map((b) => ({ ...b, url: 'http://127.0.0.1:0' })),
  };
  return { ...base, lb: deepMerge(deepMerge(base.lb, loopback), overrides) };
}

/** Starts the backends and the balancer of `config` (see benchConfig) and
 * resolves once each answers; their stderr lines go to `log`. */
export function startBenchServices(config: LbbenchConfig, signal: AbortSignal, log: (line: string) => void): Promise<ManagedServices> {
  return startServices(config, { signal, log: (line, stream) => stream === 'stderr' && log(line) });
}

/** How long a bench may take after its bound before it is killed, ms: time
 * for services to stop by SIGTERM and the figures so far to be printed. */
const GRACE_AFTER_BOUND_MS = 30_000;

/**
 * Runs `body` with a signal that aborts on SIGINT, SIGTERM or after
 * `boundMs`; `body` stops its load when it fires and prints what it has.
 * Past the bound plus a grace, every child still alive is SIGKILLed and the
 * process exits 124 (timeout(1)'s code), so a wedged bench never outlives
 * its bound. Errors print as `<name>: <message>` with exit code 1 (2 for a
 * UsageError-like `exitCode`).
 */
export async function runBounded(name: string, boundMs: number, body: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const abort = (why: string): void => {
    if (!controller.signal.aborted) process.stderr.write(`${name}: ${why}; stopping\n`);
    controller.abort(new Error(why));
  };
  const onSigint = (): void => abort('interrupted by SIGINT');
  const onSigterm = (): void => abort('interrupted by SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  const bound = setTimeout(() => abort(`time bound of ${Math.round(boundMs / 1000)} s reached`), boundMs);
  const hardStop = setTimeout(() => {
    process.stderr.write(`${name}: still running ${GRACE_AFTER_BOUND_MS / 1000} s after its bound; killing its children\n`);
    killAllChildrenNow();
    process.exit(124);
  }, boundMs + GRACE_AFTER_BOUND_MS);
  hardStop.unref();
  try {
    await body(controller.signal);
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n`);
    const code = (err as { exitCode?: unknown }).exitCode;
    process.exitCode = typeof code === 'number' ? code : 1;
  } finally {
    clearTimeout(bound);
    clearTimeout(hardStop);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
}
