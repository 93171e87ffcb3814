/**
 * Benchmark (not a test): the load engines side by side against one direct
 * backend (`lbbench backend`, `GET /echo`), in the same run.
 *
 *  1. The highest rate one open-loop generator process sustains, for each
 *     transport (raw `net` sockets and undici): a ladder of rates, each held
 *     for `--duration` s. `delivered`: the achieved rate is within 3% of the
 *     target, nothing dropped, no errors. `onSchedule`: also not flagged by
 *     the generator's self-check, and send lateness p99 ≤ 10 ms.
 *  2. CPU per 1,000 requests/s of each engine: open-loop (both transports)
 *     and autocannon at one common capped rate (`--cmp-rate`); autocannon,
 *     wrk and closed-loop at full speed (wrk and closed-loop take no rate).
 *  3. What closed-loop load hides: a backend stalling 200 ms once per second,
 *     at 500 requests/s open-loop, against autocannon closed-loop.
 *
 *   npx tsc -p . && flock /tmp/lbbench-load.lock node dist/bench/engines.js \
 *     [--duration 3] [--connections 50] [--port 21401] [--cmp-rate 4000] \
 *     [--rates 2000,4000,...] [--sections ladder,cmp-rate,closed-max,stall] \
 *     [--only open-loop/net,closed-loop,...] [--json]
 *
 * `--sections` and `--only` (row labels) pick a subset; e.g. the raw-socket
 * generator's own cost alone:
 *   node dist/bench/engines.js --sections cmp-rate,closed-max --only open-loop/net,closed-loop
 *
 * The backend runs in its own process; every engine runs its generator in
 * its own process(es) too, so the CPU figures are the generators' own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { BIN_PATH } from '../common/paths.js';
import type { LoadEngine, LoadResult, LoadSpec } from '../harness/engines/engine.js';
import { getEngine } from '../harness/engines/index.js';
import { createOpenLoopEngine, type TransportName } from '../harness/engines/open-loop.js';
import { CpuMeter } from '../harness/sampling/proc-stats.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    port: { type: 'string', default: '21401' },
    'cmp-rate': { type: 'string', default: '4000' },
    rates: { type: 'string', default: '2000,4000,6000,8000,10000,12000,14000,16000,18000,20000,24000' },
    sections: { type: 'string', default: 'ladder,cmp-rate,closed-max,stall' },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const durationMs = Number(values.duration) * 1000;
const connections = Number(values.connections);
const port = Number(values.port);
const cmpRate = Number(values['cmp-rate']);
const ladder = values.rates.split(',').map(Number);
const sections = new Set(values.sections.split(','));
const only = values.only === undefined ? undefined : new Set(values.only.split(','));
/** Whether the row `label` of `section` is to be measured. */
const wanted = (section: string, label: string): boolean => sections.has(section) && (only === undefined || only.has(label));

interface Row {
  section: string;
  engine: string;
  model: 'open' | 'closed';
  targetRate?: number;
  achievedRate: number;
  generatorCpuPercent: number;
  /** Generator CPU % of one core per 1,000 requests/s. */
  cpuPercentPer1k: number;
  /** Generator CPU time per request, µs. */
  cpuUsPerRequest: number;
  backendCpuPercent: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  dropped?: number;
  latenessP99Ms?: number;
  saturated: boolean;
  note?: string;
}

function log(line: string): void {
  if (!values.json) process.stderr.write(`${line}\n`);
}

async function startBackend(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN_PATH, 'backend', '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('backend did not start within 10 s')), 10_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      if (d.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`backend exited with ${code}`)));
  });
  return child;
}

async function measure(section: string, label: string, engine: LoadEngine, spec: LoadSpec, backendPid: number): Promise<Row> {
  const meter = new CpuMeter(backendPid);
  const r: LoadResult = await engine.run(spec);
  const backendCpu = meter.sample()?.cpuPercent ?? 0;
  const rate = r.achievedRate;
  const errors = Object.entries(r.errors).reduce((s, [, v]) => s + v, 0);
  const row: Row = {
    section,
    engine: label,
    model: r.loadModel,
    achievedRate: Math.round(rate),
    generatorCpuPercent: round1(r.generator.cpuPercent),
    cpuPercentPer1k: rate > 0 ? round1((r.generator.cpuPercent * 1000) / rate) : 0,
    cpuUsPerRequest: rate > 0 ? round1((r.generator.cpuPercent * 10_000) / rate) : 0,
    backendCpuPercent: round1(backendCpu),
    p50Ms: r.latency.p50Us / 1000,
    p99Ms: r.latency.p99Us / 1000,
    errors,
    saturated: r.generator.saturated,
  };
  if (spec.rate !== undefined) row.targetRate = spec.rate;
  if (r.schedule) {
    row.dropped = r.schedule.dropped;
    row.latenessP99Ms = r.schedule.latenessP99Us / 1000;
  }
  if (r.generator.saturatedReason) row.note = r.generator.saturatedReason;
  log(
    `${section.padEnd(10)} ${label.padEnd(20)} target ${String(spec.rate ?? '-').padStart(6)} achieved ${String(row.achievedRate).padStart(6)}/s ` +
      `gen CPU ${String(row.generatorCpuPercent).padStart(5)}% (${row.cpuUsPerRequest} µs/req) backend CPU ${row.backendCpuPercent}% ` +
      `p50 ${row.p50Ms.toFixed(3)} ms p99 ${row.p99Ms.toFixed(3)} ms errors ${errors}` +
      (row.dropped !== undefined ? ` dropped ${row.dropped} lateness p99 ${row.latenessP99Ms!.toFixed(2)} ms` : '') +
      (row.saturated ? ` SATURATED (${row.note})` : ''),
  );
  return row;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** The rate was delivered: within 3% of the target (over the window
 * stretched by the drain), nothing dropped, no errors. */
function delivered(row: Row): boolean {
  return row.errors === 0 && (row.dropped ?? 0) === 0 && row.achievedRate >= 0.97 * (row.targetRate ?? 0);
}

/** Delivered on schedule: also not flagged by the self-check, and sends left
 * on time (lateness p99 ≤ 10 ms, so no queue built up). */
function onSchedule(row: Row): boolean {
  return delivered(row) && !row.saturated && (row.latenessP99Ms ?? 0) <= 10;
}

/** A backend that holds every answer arriving in the first 200 ms of each second. */
async function startStallingBackend(): Promise<{ url: string; close: () => void }> {
  const t0 = performance.now();
  const server = http.createServer((req, res) => {
    req.resume();
    const phase = (performance.now() - t0) % 1000;
    const answer = (): void => {
      res.end('stall\n');
    };
    if (phase < 200) setTimeout(answer, 200 - phase);
    else answer();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port + 1, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function main(): Promise<void> {
  const backend = await startBackend();
  const pid = backend.pid!;
  const url = `http://127.0.0.1:${port}/echo`;
  const rows: Row[] = [];
  /** Highest rate delivered, and highest delivered without the self-check
   * flagging the generator (send-loop lag p99 ≤ 10 ms, CPU ≤ 90%). */
  const best: Partial<Record<TransportName, { delivered?: Row; onSchedule?: Row }>> = {};
  try {
    const base = { url, connections, durationMs, warmupMs: 500 };
    for (const transport of ['net', 'undici'] as const) {
      if (!wanted('ladder', `open-loop/${transport}`)) continue;
      const engine = createOpenLoopEngine({ transport });
      for (const rate of ladder) {
        const row = await measure('ladder', `open-loop/${transport}`, engine, { ...base, rate }, pid);
        rows.push(row);
        if (!delivered(row)) break;
        const b = (best[transport] ??= {});
        b.delivered = row;
        if (onSchedule(row)) b.onSchedule = row;
      }
    }
    for (const transport of ['net', 'undici'] as const) {
      if (!wanted('cmp-rate', `open-loop/${transport}`)) continue;
      rows.push(await measure('cmp-rate', `open-loop/${transport}`, createOpenLoopEngine({ transport }), { ...base, rate: cmpRate }, pid));
    }
    const engines: [string, LoadEngine | undefined][] = [];
    for (const name of ['autocannon', 'wrk', 'closed-loop'] as const) {
      if (![...sections].some((section) => wanted(section, name))) continue;
      try {
        engines.push([name, await getEngine(name)]);
      } catch (err) {
        log(`${name}: not available (${(err as Error).message})`);
      }
    }
    const autocannon = engines.find(([n]) => n === 'autocannon')?.[1];
    if (autocannon && wanted('cmp-rate', 'autocannon')) rows.push(await measure('cmp-rate', 'autocannon', autocannon, { ...base, rate: cmpRate }, pid));
    for (const [name, engine] of engines) {
      if (!wanted('closed-max', name)) continue;
      rows.push(await measure('closed-max', name, engine!, { url, connections, durationMs }, pid));
    }

    if (sections.has('stall')) {
      const stall = await startStallingBackend();
      try {
        const stallSpec = { url: stall.url, connections, durationMs: 5000 };
        if (wanted('stall', 'open-loop/net')) rows.push(await measure('stall', 'open-loop/net', createOpenLoopEngine(), { ...stallSpec, rate: 500 }, pid));
        if (autocannon && wanted('stall', 'autocannon')) rows.push(await measure('stall', 'autocannon', autocannon, stallSpec, pid));
        if (autocannon && wanted('stall', 'autocannon@500')) rows.push(await measure('stall', 'autocannon@500', autocannon, { ...stallSpec, rate: 500 }, pid));
      } finally {
        stall.close();
      }
    }
  } finally {
    backend.kill('SIGTERM');
  }
  const brief = (r?: Row) => (r ? { rate: r.targetRate, cpuPercentPer1k: r.cpuPercentPer1k, cpuUsPerRequest: r.cpuUsPerRequest } : undefined);
  const summary = {
    highestSustainedRate: Object.fromEntries(Object.entries(best).map(([t, b]) => [t, { delivered: brief(b.delivered), onSchedule: brief(b.onSchedule) }])),
  };
  if (values.json) process.stdout.write(JSON.stringify({ durationMs, connections, rows, summary }, null, 2) + '\n');
  else log(`highest sustained rate, one open-loop process: ${JSON.stringify(summary.highestSustainedRate)}`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
