/**
 * `lbbench backend --port N`: one test backend in the foreground.
 */
import { Command } from 'commander';
import { UsageError } from '../../common/errors.js';
import { checkBackendName, parseFaultPatch, type BackendOptions, type FaultPatch } from '../../backend/options.js';

/** Flags of `lbbench backend`, as commander hands them over (strings). */
interface BackendFlags {
  port: string;
  host: string;
  name?: string;
  latencyMs?: string;
  errorRate?: string;
  closeRate?: string;
  hang?: boolean;
  concurrencyLimit?: string;
  serviceTimeMs?: string;
  unhealthy?: boolean;
  drainMs?: string;
}

/** Builds the `backend` command. Its action resolves when the backend has
 * stopped (SIGTERM/SIGINT) and never calls process.exit. */
export function backendCommand(): Command {
  return new Command('backend')
    .description('run one test backend (echo, bytes, delay, status, health, stats, metrics, control) until SIGTERM/SIGINT')
    .requiredOption('--port <n>', 'TCP port to listen on; 0 picks a free one (printed in the ready line)')
    .option('--host <addr>', 'address to bind', '0.0.0.0')
    .option('--name <name>', 'name in the x-backend header, /echo body and metrics (default: backend-<port>)')
    .option('--latency-ms <ms>', 'fault: added latency before every answer, ms (0..3600000)')
    .option('--error-rate <fraction>', 'fault: fraction of requests answered 500 (0..1)')
    .option('--close-rate <fraction>', 'fault: fraction of responses cut mid-body by closing the connection (0..1)')
    .option('--hang', 'fault: accept requests and never answer them')
    .option('--concurrency-limit <n>', 'fixed capacity: at most n requests in service at once, the rest wait (0 = unbounded)')
    .option('--service-time-ms <ms>', 'fixed capacity: time each request holds its slot, ms (capacity = n * 1000 / ms req/s)')
    .option('--unhealthy', 'fault: /health answers 503')
    .option('--drain-ms <ms>', 'on SIGTERM, time in-flight requests get to finish, ms', '2000')
    .addHelpText(
      'after',
      `
Prints "lbbench-backend ready name=<name> port=<port>" once listening.
Faults apply to every endpoint except /control, /stats and /metrics, and can
be changed at run time with POST /control (JSON) and cleared with
POST /control/reset (?stats=1 also zeroes the counters).

Examples:
  $ lbbench backend --port 8001
  $ lbbench backend --port 8002 --name slow --latency-ms 50
  $ lbbench backend --port 8003 --error-rate 0.1 --close-rate 0.01
  $ lbbench backend --port 8004 --concurrency-limit 20 --service-time-ms 10   # 2,000 req/s at most
  $ curl -s localhost:8001/stats
  $ curl -s -XPOST localhost:8001/control -d '{"unhealthy":true}'
  $ curl -s -XPOST 'localhost:8001/control/reset?stats=1'`,
    )
    .action(async (flags: BackendFlags) => {
      const opts = parseBackendFlags(flags);
      const { runBackend } = await import('../../backend/main.js');
      await runBackend(opts);
    });
}

/** Turns the flags into BackendOptions; throws UsageError naming the flag. */
export function parseBackendFlags(flags: BackendFlags): BackendOptions {
  const faults: FaultPatch = {};
  if (flags.latencyMs !== undefined) faults.latencyMs = parseFaultFlag('--latency-ms', 'latencyMs', flags.latencyMs);
  if (flags.errorRate !== undefined) faults.errorRate = parseFaultFlag('--error-rate', 'errorRate', flags.errorRate);
  if (flags.closeRate !== undefined) faults.closeRate = parseFaultFlag('--close-rate', 'closeRate', flags.closeRate);
  if (flags.concurrencyLimit !== undefined) faults.concurrencyLimit = parseFaultFlag('--concurrency-limit', 'concurrencyLimit', flags.concurrencyLimit);
  if (flags.serviceTimeMs !== undefined) faults.serviceTimeMs = parseFaultFlag('--service-time-ms', 'serviceTimeMs', flags.serviceTimeMs);
  if (flags.hang) faults.hang = true;
  if (flags.unhealthy) faults.unhealthy = true;
  const opts: BackendOptions = {
    port: parseIntFlag('--port', flags.port, 0, 65535),
    host: flags.host,
    faults,
    drainMs: parseIntFlag('--drain-ms', flags.drainMs ?? '2000', 0, 600_000),
  };
  if (flags.name !== undefined) {
    checkBackendName(flags.name);
    opts.name = flags.name;
  }
  return opts;
}

/** Parses one numeric fault flag and checks it against the fault schema. */
function parseFaultFlag(flag: string, key: 'latencyMs' | 'errorRate' | 'closeRate' | 'concurrencyLimit' | 'serviceTimeMs', text: string): number {
  const n = parseNumberFlag(flag, text);
  try {
    parseFaultPatch({ [key]: n });
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message.replace(/^invalid fault settings: \w+: /, '')}`, { cause: err });
  }
  return n;
}

function parseNumberFlag(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag}: expected a number, got ${JSON.stringify(text)}`);
  return n;
}

function parseIntFlag(flag: string, text: string, min: number, max: number): number {
  const n = parseNumberFlag(flag, text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag}: expected an integer ${min}..${max}, got ${JSON.stringify(text)}`);
  return n;
}
