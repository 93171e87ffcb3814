/**
 * The engine flags of `run` and `load`, built from the engine registry
 * (harness/engines/index.ts): the `--engine` choices, the engine list of
 * `--help`, and the checks of the other flags against what the chosen
 * engine can do. Nothing here names an engine.
 */
import { Option } from 'commander';
import { UsageError } from '../../common/errors.js';
import type { EngineCapabilities, EngineName } from '../engines/engine.js';
import { engineCapabilities, engineNames, enginesWhere } from '../engines/index.js';

/** `-e, --engine <name>` with the registry's engines as its choices. */
export function engineOption(description: string): Option {
  return new Option('-e, --engine <name>', description).choices(engineNames());
}

/** The `Engines:` block of `--help`: each engine with what it is for. */
export function enginesHelp(): string {
  const rows = engineCapabilities();
  const width = Math.max(...rows.map((r) => r.name.length));
  const lines = (name: string, caps: EngineCapabilities): string[] => [
    `  ${name.padEnd(width)}  ${caps.summary}`,
    ...(caps.binary ? [`  ${' '.repeat(width)}  needs \`${caps.binary.name}\`: ${caps.binary.install}`] : []),
  ];
  return ['Engines:', ...rows.flatMap((r) => lines(r.name, r.capabilities))].join('\n');
}

/** The engines that run several generator processes, as `a or b`. */
export function multiProcessEngines(): string {
  return enginesWhere((c) => c.multiProcess).join(' or ');
}

/**
 * Checks `flags` against what `engine` can do; throws UsageError (exit 2,
 * before anything starts) naming the flag, the engine and the engines that
 * would take the flag.
 */
export function checkEngineFlags(engine: EngineName, flags: { processes?: number; rate?: number }): void {
  const caps = engineCapabilities().find((e) => e.name === engine)?.capabilities;
  if (!caps) throw new UsageError(`--engine: unknown engine ${JSON.stringify(engine)}; valid engines: ${engineNames().join(', ')}`);
  if (flags.processes !== undefined && flags.processes > 1 && !caps.multiProcess) {
    throw new UsageError(`--processes: only --engine ${multiProcessEngines()} runs several generator processes (got --engine ${engine})`);
  }
  if (flags.rate !== undefined && caps.rate === 'none') {
    throw new UsageError(
      `--rate: --engine ${engine} takes no rate (it sends as fast as responses complete); engines that take one: ${enginesWhere((c) => c.rate !== 'none').join(', ')}`,
    );
  }
  if (flags.rate === undefined && caps.rate === 'required') {
    throw new UsageError(`--engine ${engine} needs --rate (its target arrival rate, requests/s)`);
  }
}
