/**
 * Benchmark (not a test): requests/s of the backend's `GET /echo` against a
 * bare `node:http` server answering a constant, in the same run, with
 * autocannon at 100 connections. Each server runs in its own child process;
 * autocannon runs in this one. The backend should reach about 90% of bare or
 * better.
 *
 *   npx tsc -p . && flock /tmp/lbbench-load.lock node dist/bench/backend.js \
 *     [--duration 10] [--connections 100] [--rounds 3] [--port 21310]
 *
 * Child mode (used by the benchmark itself): `--serve bare|backend --port N`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { readProcStat } from '../harness/sampling/proc-stats.js';
import { median } from '../common/stats.js';

type Kind = 'bare' | 'backend';

interface Measurement {
  kind: Kind;
  requestsPerSecond: number;
  p99Ms: number;
  errors: number;
  /** Server CPU time per request, µs. */
  serverCpuUsPerRequest: number;
}

const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    port: { type: 'string', default: '21310' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
  },
});

if (values.serve !== undefined) await serve(values.serve as Kind, Number(values.port));
else await main();

/** Child: one server on `port` until SIGTERM. Prints `ready` when listening. */
async function serve(kind: Kind, port: number): Promise<void> {
  if (kind === 'backend') {
    const { runBackend } = await import('../backend/main.js');
    await runBackend({ port, host: '127.0.0.1', name: 'backend-bench' });
    return;
  }
  const body = 'backend-bench\n';
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
  server.listen(port, '127.0.0.1', () => process.stdout.write(`ready port=${port}\n`));
  await once(process, 'SIGTERM');
  server.closeAllConnections();
  server.close();
}

async function startChild(kind: Kind, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', kind, '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited early (code ${code})`)));
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

async function measure(kind: Kind, port: number, durationS: number, connections: number): Promise<Measurement> {
  const child = await startChild(kind, port);
  try {
    const url = `http://127.0.0.1:${port}/echo`;
    // Warm-up: JIT and connection set-up stay out of the measured window.
    await autocannon({ url, connections, duration: 2 });
    const cpuBefore = readProcStat(child.pid!)?.cpuMs ?? 0;
    const result = await autocannon({ url, connections, duration: durationS });
    const cpuAfter = readProcStat(child.pid!)?.cpuMs ?? 0;
    return {
      kind,
      requestsPerSecond: result.requests.total / durationS,
      p99Ms: result.latency.p99,
      errors: result.errors + result.non2xx,
      serverCpuUsPerRequest: result.requests.total > 0 ? ((cpuAfter - cpuBefore) * 1000) / result.requests.total : 0,
    };
  } finally {
    await stopChild(child);
  }
}

async function main(): Promise<void> {
  const durationS = Number(values.duration);
  const connections = Number(values.connections);
  const rounds = Number(values.rounds);
  const port = Number(values.port);
  const results: Measurement[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate the order per round so drift does not favour one side.
    const order: Kind[] = r % 2 === 0 ? ['bare', 'backend'] : ['backend', 'bare'];
    for (const kind of order) {
      const m = await measure(kind, port, durationS, connections);
      results.push(m);
      console.log(
        `${kind.padEnd(8)} ${m.requestsPerSecond.toFixed(0).padStart(8)} req/s  p99 ${m.p99Ms} ms  ` +
          `server CPU ${m.serverCpuUsPerRequest.toFixed(1)} µs/req  errors ${m.errors}`,
      );
    }
  }
  // Each round measures both back to back; the median of the per-round
  // ratios resists the bursts of noise that other work on 2 shared cores
  // puts into single measurements.
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const pair = results.slice(r * 2, r * 2 + 2);
    const bare = pair.find((m) => m.kind === 'bare')!;
    const backend = pair.find((m) => m.kind === 'backend')!;
    ratios.push(backend.requestsPerSecond / bare.requestsPerSecond);
    cpuRatios.push(backend.serverCpuUsPerRequest / bare.serverCpuUsPerRequest);
  }
  console.log(
    `backend/bare requests/s ratio: median ${median(ratios).toFixed(3)} of [${ratios.map((x) => x.toFixed(3)).join(', ')}]; ` +
      `server CPU per request ratio: median ${median(cpuRatios).toFixed(3)} (${connections} connections, ${durationS} s x ${rounds} round(s))`,
  );
}
