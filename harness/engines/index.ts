/**
 * The engine registry: one explicit map from engine name to factory, the
 * one list of engines. Each engine declares what it can do
 * (`LoadEngine.capabilities`); callers (the CLI's choices, help and checks,
 * the report's environment) read that here instead of listing engines by
 * hand. Engine modules import nothing heavy at load time (autocannon runs in
 * a child process, wrk is a binary, open-loop and closed-loop fork generator
 * processes), so importing this module is cheap.
 */
import { UsageError } from '../../common/errors.js';
import { PACKAGE_VERSION } from '../../common/paths.js';
import { autocannonVersion, createAutocannonEngine } from './autocannon.js';
import { createClosedLoopEngine } from './closed-loop.js';
import type { EngineCapabilities, LoadEngine } from './engine.js';
import { createOpenLoopEngine } from './open-loop.js';
import { createWrkEngine, wrkVersion } from './wrk.js';

/** Options every engine factory understands (others ignore what they do not use). */
export interface EngineOptions {
  /** Generator CPU above which a run is flagged `generator.saturated`, % of
   * one core. Default DEFAULT_GENERATOR_CPU_LIMIT_PERCENT (80; config
   * `harness.generatorCpuLimitPercent`). Honoured by autocannon, wrk and
   * closed-loop (per generator process); open-loop judges saturation itself. */
  generatorCpuLimitPercent?: number;
}

/** Every engine, by name, in the order the CLI lists them: the one list of
 * engines (EngineName is its keys). */
export const ENGINES = Object.freeze({
  'open-loop': () => createOpenLoopEngine(),
  autocannon: (options?: EngineOptions) => createAutocannonEngine(options),
  wrk: (options?: EngineOptions) => createWrkEngine(options),
  'closed-loop': (options?: EngineOptions) => createClosedLoopEngine(options),
}) satisfies Readonly<Record<string, (options?: EngineOptions) => LoadEngine>>;

/** The name of an engine: a key of the registry. */
export type EngineName = keyof typeof ENGINES;

/** The engine used when none is named: with a rate, the open loop (latency
 * from the intended send time); without, autocannon, the embedded default
 * for closed-loop capacity runs (DESIGN). */
export const DEFAULT_ENGINES: Readonly<{ withRate: EngineName; withoutRate: EngineName }> = Object.freeze({
  withRate: 'open-loop',
  withoutRate: 'autocannon',
});

/** Names of all engines, in registry order. */
export function engineNames(): EngineName[] {
  return Object.keys(ENGINES) as EngineName[];
}

/** Whether `name` is an engine's name. */
export function isEngineName(name: string): name is EngineName {
  return Object.hasOwn(ENGINES, name);
}

/** Each engine's load model and capabilities, in registry order (default options). */
export function engineCapabilities(): { name: EngineName; loadModel: LoadEngine['loadModel']; capabilities: EngineCapabilities }[] {
  return engineNames().map((name) => {
    const engine = ENGINES[name]();
    return { name, loadModel: engine.loadModel, capabilities: engine.capabilities };
  });
}

/** Names of the engines whose capabilities pass `test`, in registry order. */
export function enginesWhere(test: (capabilities: EngineCapabilities, loadModel: LoadEngine['loadModel']) => boolean): EngineName[] {
  return engineCapabilities()
    .filter((e) => test(e.capabilities, e.loadModel))
    .map((e) => e.name);
}

/** The closed-loop engines, in registry order (scenario settings that pick
 * a capacity engine offer these). */
export function closedLoopEngineNames(): [EngineName, ...EngineName[]] {
  const [first, ...rest] = enginesWhere((_, model) => model === 'closed');
  if (first === undefined) throw new Error('the registry has no closed-loop engine');
  return [first, ...rest];
}

/**
 * The engine called `name`, checked to be usable here. Throws UsageError
 * (exit 2) for an unknown name (listing the valid ones) and for an engine
 * that is not available (saying how to install what it needs).
 */
export async function getEngine(name: string, options: EngineOptions = {}): Promise<LoadEngine> {
  if (!isEngineName(name)) {
    throw new UsageError(`unknown engine ${JSON.stringify(name)}; valid engines: ${engineNames().join(', ')}`);
  }
  const engine = ENGINES[name](options);
  if (!(await engine.available())) throw new UsageError(`engine ${name} is not available: ${unavailableHint(name, engine.capabilities)}`);
  return engine;
}

/** What to do when engine `name` is not available here. */
function unavailableHint(name: EngineName, caps: EngineCapabilities): string {
  if (!caps.binary) return 'its requirements are missing';
  const alternatives = enginesWhere((c, model) => !c.binary && model === ENGINES[name]().loadModel);
  return (
    `\`${caps.binary.name}\` is not on PATH; install it with \`${caps.binary.install}\` (Debian/Ubuntu)` +
    (alternatives.length ? `, or use --engine ${alternatives.join(' or ')}` : '')
  );
}

/** Versions of the engines present here, for the report's environment:
 * autocannon's package version, `wrk -v` (only when installed), and
 * open-loop = closed-loop = lbbench's own version. */
export async function engineVersions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  out['open-loop'] = out['closed-loop'] = PACKAGE_VERSION;
  try {
    out.autocannon = autocannonVersion();
  } catch {
    out.autocannon = 'unknown';
  }
  const wrk = await wrkVersion().catch(() => undefined);
  if (wrk !== undefined) out.wrk = wrk;
  return out;
}
