/**
 * Benchmark (not a test): the raw-socket generator's own bookkeeping cost,
 * without sockets. One in-process Generator drives an in-memory transport
 * that opens at once and answers every request on the next turn of the
 * event loop, so the CPU per request is the generator's (pool, pacer,
 * recorder, buckets) plus a constant for the fake transport, and no server
 * or kernel noise enters it. Reports CPU µs per request for the closed loop
 * (as fast as it goes) and the open schedule (at `--rate`).
 *
 *   npm run build && node dist/bench/generator-core.js [--root DIR] \
 *     [--duration 3] [--connections 50] [--rate 20000] [--json]
 *
 * `--root` is the package root whose compiled generator to load (default:
 * this one), so the same bench measures two builds side by side, e.g. before
 * and after a refactor; it finds the generator in `engines/generator/` or,
 * for builds before that folder existed, in `engines/open-loop/`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PACKAGE_ROOT } from '../common/paths.js';

const { values } = parseArgs({
  options: {
    root: { type: 'string', default: PACKAGE_ROOT },
    duration: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    rate: { type: 'string', default: '20000' },
    json: { type: 'boolean', default: false },
  },
});
const durationMs = Number(values.duration) * 1000;
const connections = Number(values.connections);
const rate = Number(values.rate);

/** The parts of a transport connection the generator drives (transport.ts). */
interface FakeEvents {
  onOpen(c: FakeConnection): void;
  onResponse(c: FakeConnection, r: { status: number; bytes: number; close: boolean }): void;
  onClosed(c: FakeConnection): void;
}
interface FakeConnection {
  slot: number;
  connect(): void;
  send(): void;
  abort(): void;
}

/** Opens at once; answers each request 200 with 100 bytes on the next event-loop turn. */
function fakeFactory(slot: number, _local: string | undefined, events: FakeEvents): FakeConnection {
  let closed = false;
  const response = { status: 200, bytes: 100, close: false };
  const conn: FakeConnection = {
    slot,
    connect: () => setImmediate(() => !closed && events.onOpen(conn)),
    send: () => setImmediate(() => !closed && events.onResponse(conn, response)),
    abort: () => {
      if (closed) return;
      closed = true;
      events.onClosed(conn);
    },
  };
  return conn;
}

interface GeneratorLike {
  connect(): Promise<unknown>;
  run(startEpochMs: number): Promise<{ requests: number; cpuPercent: number; durationMs?: number; windowMs?: number }>;
  stop(): void;
}

async function loadGenerator(root: string, mode: 'open' | 'closed'): Promise<(spec: object) => GeneratorLike> {
  const dir = path.join(root, 'dist', 'harness', 'engines');
  const split = existsSync(path.join(dir, 'generator', 'generator.js'));
  const mod = (file: string): Promise<Record<string, unknown>> => import(pathToFileURL(path.join(dir, split ? 'generator' : 'open-loop', file)).href);
  const { Generator } = (await mod('generator.js')) as { Generator: new (...args: unknown[]) => GeneratorLike };
  const noBucket = (): void => {};
  if (!split) return (spec) => new Generator(spec, fakeFactory, noBucket);
  const pacers = mode === 'open' ? await mod('open-pacer.js') : await mod('closed-pacer.js');
  const Pacer = (mode === 'open' ? pacers.OpenPacer : pacers.ClosedPacer) as new (spec: object) => unknown;
  return (spec) => new Generator(spec, fakeFactory, new Pacer(spec), noBucket);
}

async function measure(mode: 'open' | 'closed'): Promise<{ mode: string; requests: number; cpuUsPerRequest: number; requestsPerSecond: number }> {
  const make = await loadGenerator(values.root, mode);
  const spec = {
    mode,
    processIndex: 0,
    processCount: 1,
    url: 'http://127.0.0.1:1/',
    method: 'GET',
    headers: {},
    connections,
    totalRate: mode === 'open' ? rate : 0,
    warmupMs: 200,
    durationMs,
    seriesIntervalMs: 1000,
    timeoutMs: 10_000,
    sourceAddresses: [],
    transport: 'net',
    ticker: 'timer',
    minTickUs: 1000,
    lateThresholdUs: 1000,
    connectConcurrency: 256,
    maxSchedulerLagP99Us: 10_000_000,
    maxCpuPercent: 1000,
  };
  const generator = make(spec);
  await generator.connect();
  const report = await generator.run(Date.now() + 50);
  const windowMs = report.durationMs ?? report.windowMs ?? durationMs;
  // The report's CPU is the process's over the window, % of one core.
  const cpuUs = (report.cpuPercent / 100) * windowMs * 1000;
  return {
    mode,
    requests: report.requests,
    cpuUsPerRequest: Math.round((cpuUs / report.requests) * 100) / 100,
    requestsPerSecond: Math.round(report.requests / (windowMs / 1000)),
  };
}

async function main(): Promise<void> {
  const rows = [await measure('closed'), await measure('open')];
  if (values.json) process.stdout.write(`${JSON.stringify({ root: values.root, durationMs, connections, rate, rows })}\n`);
  else
    for (const r of rows)
      process.stdout.write(`${r.mode.padEnd(6)} ${r.requestsPerSecond} req/s  ${r.cpuUsPerRequest} µs CPU/request (${r.requests} requests)\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
