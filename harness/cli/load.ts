/**
 * `lbbench load URL`: one ad-hoc load run against any URL (the way people use
 * wrk2 or autocannon on their own), printing the normalized LoadResult as a
 * table or as JSON. The engine choices, the engine list of --help and the
 * flag checks come from the engine registry (engine-flags.ts).
 */
import Table from 'cli-table3';
import { Command } from 'commander';
import { UsageError } from '../../common/errors.js';
import { ExitCode } from '../../common/exit-codes.js';
import type { EngineName, LoadResult, LoadSpec } from '../engines/engine.js';
import { DEFAULT_ENGINES, getEngine } from '../engines/index.js';
import { formatBytes, formatNumber } from '../report/format.js';
import { checkEngineFlags, engineOption, enginesHelp, multiProcessEngines } from './engine-flags.js';
import { requestExitCode } from './exit-status.js';

/** Default keep-alive connections. */
export const DEFAULT_CONNECTIONS = 100;
/** Default measured window. */
export const DEFAULT_DURATION = '10s';

/** The help after the options; the engine part comes from the registry. */
function helpAfter(): string {
  return `
Durations take a unit (500ms, 10s, 2m, 1h) or are seconds (10).

${enginesHelp()}
The engine defaults to ${DEFAULT_ENGINES.withRate} when --rate is given, else ${DEFAULT_ENGINES.withoutRate}.

Exit codes:
  0  the run completed
  2  bad usage (URL, flag value, unknown or unavailable engine)
  3  the run is not trustworthy: the generator saturated its CPU, or not
     every requested connection was established

Examples:
  $ lbbench load http://127.0.0.1:8080/ --duration 10s --connections 200
  $ lbbench load http://127.0.0.1:8080/echo --rate 2000 --duration 30s
  $ lbbench load http://127.0.0.1:8001/ --engine wrk --json > result.json
  $ lbbench load http://127.0.0.1:8080/bytes/1048576 --engine closed-loop --connections 32 --processes 2
  $ lbbench load http://127.0.0.1:8080/echo --method POST --header 'content-type: text/plain' --body hello
  $ lbbench load http://127.0.0.1:8080/echo --rate 5000 --start-at $(( $(date +%s%3N) + 10000 )) --json > host-a.json
`;
}

/** Flags of `lbbench load` as commander parses them. */
interface LoadFlags {
  engine?: EngineName;
  rate?: string;
  connections: string;
  duration: string;
  warmup: string;
  processes?: string;
  method: string;
  header: string[];
  body?: string;
  json: boolean;
  startAt?: string;
}

/**
 * Parses a duration: `500ms`, `10s`, `2m`, `1h`, or a bare number of seconds
 * (`10`, `1.5`). Returns ms; throws UsageError naming `flag` when malformed or
 * not positive (zero is allowed when `allowZero`).
 */
export function parseDurationMs(text: string, flag = '--duration', allowZero = false): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a duration (expected e.g. 500ms, 10s, 2m, or seconds)`);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Number(m[1]) * factor;
  if (ms < 0 || (!allowZero && ms === 0)) throw new UsageError(`${flag}: ${JSON.stringify(text)} must be greater than 0`);
  return ms;
}

/** Most --start-at may lie in the future, ms (a day). */
const MAX_START_AT_AHEAD_MS = 86_400_000;

/**
 * Parses `--start-at`: epoch ms, no more than 1 s in the past (clock skew
 * between hosts) and at most a day ahead. Throws UsageError otherwise.
 */
export function parseStartAt(text: string, nowMs: number = Date.now()): number {
  const t = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(t)) {
    throw new UsageError(`--start-at: ${JSON.stringify(text)} (expected ms since 1970, e.g. $(( $(date +%s%3N) + 10000 )))`);
  }
  if (t < nowMs - 1000) throw new UsageError(`--start-at: ${text} is ${((nowMs - t) / 1000).toFixed(1)} s in the past`);
  if (t > nowMs + MAX_START_AT_AHEAD_MS) throw new UsageError(`--start-at: ${text} is more than a day ahead`);
  return t;
}

/** Parses `name: value` headers (repeatable --header). */
export function parseHeaders(lines: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    const name = i < 0 ? '' : line.slice(0, i).trim();
    if (!name || /[\s:]/.test(name)) throw new UsageError(`--header: ${JSON.stringify(line)} (expected 'name: value')`);
    out[name] = line.slice(i + 1).trim();
  }
  return out;
}

/** Checks the target URL: absolute `http://host[:port]/path`. */
export function parseTargetUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    throw new UsageError(`URL: ${JSON.stringify(text)} is not a valid URL (expected e.g. http://127.0.0.1:8080/)`, { cause: err });
  }
  if (url.protocol !== 'http:') throw new UsageError(`URL: ${JSON.stringify(text)}: only http:// URLs are supported`);
  if (!url.hostname) throw new UsageError(`URL: ${JSON.stringify(text)} has no host`);
  return url.href;
}

function parseCount(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${flag}: ${JSON.stringify(text)} (expected an integer >= 1)`);
  }
  return n;
}

function parseRate(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--rate: ${JSON.stringify(text)} (expected requests/s > 0)`);
  return n;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** The `load` verb. */
export function loadCommand(): Command {
  return new Command('load')
    .description('one ad-hoc load run against any http:// URL; prints the normalized result')
    .argument('<url>', 'target, e.g. http://127.0.0.1:8080/echo')
    .addOption(engineOption(`load engine (default: ${DEFAULT_ENGINES.withRate} with --rate, else ${DEFAULT_ENGINES.withoutRate})`))
    .option('-r, --rate <R>', 'target requests/s (open loop; a cap for closed-loop engines)')
    .option('-c, --connections <C>', 'keep-alive connections', String(DEFAULT_CONNECTIONS))
    .option('-d, --duration <D>', 'measured window', DEFAULT_DURATION)
    .option('-w, --warmup <D>', 'load before the measured window, not recorded', '0')
    .option('-p, --processes <N>', `generator processes (${multiProcessEngines()} only)`)
    .option('-m, --method <M>', 'HTTP method', 'GET')
    .option('-H, --header <h>', "request header 'name: value' (repeatable)", collect, [] as string[])
    .option('-b, --body <S>', 'request body, sent with every request')
    .option('--json', 'print the LoadResult as JSON', false)
    .option(
      '--start-at <epoch-ms>',
      'wait until this wall-clock time (ms since 1970) before starting, so generators on several hosts start together (see `lbbench merge`)',
    )
    .addHelpText('after', helpAfter())
    .action(async (urlArg: string, flags: LoadFlags) => {
      const spec = buildSpec(urlArg, flags);
      const engineName: EngineName = flags.engine ?? (spec.rate !== undefined ? DEFAULT_ENGINES.withRate : DEFAULT_ENGINES.withoutRate);
      checkEngineFlags(engineName, spec);
      const engine = await getEngine(engineName);
      if (!flags.json) {
        process.stderr.write(
          `lbbench load: ${engineName}, ${spec.connections} connections, ${formatNumber(spec.durationMs / 1000)} s` +
            `${spec.rate !== undefined ? `, ${formatNumber(spec.rate)} req/s` : ''} -> ${spec.method} ${spec.url}\n`,
        );
      }
      if (flags.startAt !== undefined) {
        const waitMs = parseStartAt(flags.startAt) - Date.now();
        if (waitMs > 0) {
          if (!flags.json) process.stderr.write(`lbbench load: waiting ${formatNumber(Math.round(waitMs / 100) / 10)} s for --start-at\n`);
          await new Promise((resolve) => setTimeout(resolve, waitMs));
        }
      }
      const result = await engine.run(spec);
      process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${renderLoadTable(result)}\n`);
      for (const warning of invalidReasons(result)) {
        process.stderr.write(`lbbench load: warning: ${warning}\n`);
        requestExitCode(ExitCode.INVALID_RUN);
      }
    });
}

function buildSpec(urlArg: string, flags: LoadFlags): LoadSpec {
  const method = flags.method.trim().toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new UsageError(`--method: ${JSON.stringify(flags.method)} (expected e.g. GET, POST)`);
  const warmupMs = parseDurationMs(flags.warmup, '--warmup', true);
  const spec: LoadSpec = {
    url: parseTargetUrl(urlArg),
    method,
    headers: parseHeaders(flags.header),
    connections: parseCount(flags.connections, '--connections'),
    durationMs: parseDurationMs(flags.duration),
  };
  if (warmupMs > 0) spec.warmupMs = warmupMs;
  if (flags.body !== undefined) spec.body = flags.body;
  if (flags.rate !== undefined) spec.rate = parseRate(flags.rate);
  if (flags.processes !== undefined) spec.processes = parseCount(flags.processes, '--processes');
  return spec;
}

/** Why the result cannot be trusted as the server's numbers; empty when fine. */
export function invalidReasons(result: LoadResult): string[] {
  const out: string[] = [];
  if (result.generator.saturated) {
    out.push(`generator saturated: ${result.generator.saturatedReason ?? `${formatNumber(result.generator.cpuPercent)}% CPU`}`);
  }
  if (result.connectionsEstablished < result.spec.connections) {
    out.push(`only ${result.connectionsEstablished} of ${result.spec.connections} connections were established`);
  }
  return out;
}

/** Latency in ms with µs digits, e.g. `0.662 ms`. */
function ms(us: number): string {
  return `${(us / 1000).toFixed(3)} ms`;
}

function counts(map: Record<string, number>, none: string): string {
  const entries = Object.entries(map).filter(([, n]) => n > 0);
  return entries.length === 0 ? none : entries.map(([k, n]) => `${k}: ${n}`).join(', ');
}

/** The result as a two-column terminal table; ANSI colours when `color`
 * (default: stdout is a TTY and NO_COLOR is unset). */
export function renderLoadTable(r: LoadResult, color = process.stdout.isTTY === true && !process.env['NO_COLOR']): string {
  const table = new Table({
    head: ['measure', 'value'],
    style: color ? {} : { head: [], border: [] },
    // No rule between rows: the table is long enough already.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  const g = r.generator;
  const rate = `${formatNumber(Math.round(r.achievedRate))} req/s` + (r.spec.rate !== undefined ? ` (target ${formatNumber(r.spec.rate)})` : '');
  const rows: [string, string][] = [
    ['target', `${r.spec.method} ${r.spec.url}`],
    ['engine', `${r.engine} ${r.engineVersion}`],
    ['load model', r.loadModel === 'open' ? 'open (constant arrival rate)' : 'closed (one request in flight per connection)'],
    ['latency resolution', `${formatNumber(r.latencyResolutionUs)} µs`],
    ['connections', `${r.connectionsEstablished} of ${r.spec.connections} (ramp ${formatNumber(Math.round(r.connectRampMs))} ms)`],
    ['window', `${formatNumber(r.durationMs / 1000)} s`],
    ['requests', String(r.requests)],
    ['rate', rate],
    ['throughput', `${formatBytes(Math.round(r.bytesPerSecond))}/s`],
    ['errors', counts(r.errors, 'none')],
    ['statuses', counts(r.statusCounts, 'none')],
    ['latency p50', ms(r.latency.p50Us)],
    ['latency p90', ms(r.latency.p90Us)],
    ['latency p99', ms(r.latency.p99Us)],
    ['latency p99.9', ms(r.latency.p999Us)],
    ['latency max', ms(r.latency.maxUs)],
    [
      'generator CPU',
      `${formatNumber(Math.round(g.cpuPercent))}% of a core` +
        (g.processes > 1 ? ` over ${g.processes} processes (max ${formatNumber(Math.round(g.maxProcessCpuPercent))}%)` : '') +
        (g.eventLoopDelayP99Ms !== undefined ? `, event-loop delay p99 ${formatNumber(g.eventLoopDelayP99Ms)} ms` : '') +
        (g.saturated ? ' (SATURATED)' : ''),
    ],
    ['late / dropped', r.schedule ? `${r.schedule.late} late (p99 ${ms(r.schedule.latenessP99Us)}), ${r.schedule.dropped} dropped` : 'n/a (closed loop)'],
  ];
  for (const row of rows) table.push(row);
  return table.toString();
}
