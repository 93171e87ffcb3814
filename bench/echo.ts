/**
 * Benchmark (not a test): requests/s and p99 on `GET /echo` at 100
 * connections through the balancer (2 workers, 3 backends) and direct to
 * one backend, in the same run, plus the balancer's CPU per request.
 *
 *   npm run build && flock /tmp/lbbench-load.lock node dist/bench/echo.js
 *
 * Env: LBBENCH_BENCH_SECONDS (default 10), LBBENCH_BENCH_CONNECTIONS (100),
 * LBBENCH_BENCH_WORKERS (2), LBBENCH_BENCH_PORT_BASE (21200: backends
 * base+1..3, balancer base+10, metrics base+11).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { processTree, readProcStat } from '../harness/sampling/proc-stats.js';

const SECONDS = Number(process.env.LBBENCH_BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.LBBENCH_BENCH_CONNECTIONS ?? 100);
const WORKERS = Number(process.env.LBBENCH_BENCH_WORKERS ?? 2);
const BASE = Number(process.env.LBBENCH_BENCH_PORT_BASE ?? 21200);
const BACKEND_PORTS = [BASE + 1, BASE + 2, BASE + 3];
const LB_PORT = BASE + 10;
const METRICS_PORT = BASE + 11;
const WARMUP_S = 2;

const children: ChildProcess[] = [];

/** Spawns `node -e code` and resolves once stdout/stderr matches `ready`. */
function spawnNode(code: string, ready: RegExp, label: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${label} exited (${code}) before ready:\n${out}`)));
    setTimeout(() => reject(new Error(`${label} not ready after 15 s:\n${out}`)), 15_000).unref();
  });
}

function run(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections: CONNECTIONS, duration: seconds, pipelining: 1 });
}

function cpuMsOf(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (readProcStat(pid)?.cpuMs ?? 0), 0);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lbbench-bench-'));
  try {
    const backendMain = new URL('../backend/main.js', import.meta.url).href;
    await Promise.all(
      BACKEND_PORTS.map((port) =>
        spawnNode(
          `import(${JSON.stringify(backendMain)}).then((m) => m.runBackend({ port: ${port}, name: 'backend-${port}' }))`,
          /lbbench-backend ready/,
          `backend ${port}`,
        ),
      ),
    );
    const config = path.join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'lb:',
        `  listen: { host: 127.0.0.1, port: ${LB_PORT} }`,
        `  metrics: { host: 127.0.0.1, port: ${METRICS_PORT} }`,
        `  workers: ${WORKERS}`,
        '  backends:',
        ...BACKEND_PORTS.map((p, i) => `    - { name: backend-${p}, url: "http://127.0.0.1:${p}", weight: ${[5, 3, 2][i]} }`),
      ].join('\n'),
    );
    const lbMain = new URL('../lb/main.js', import.meta.url).href;
    const lb = await spawnNode(
      `import(${JSON.stringify(lbMain)}).then((m) => m.runBalancer({ configPath: ${JSON.stringify(config)} }))`,
      /listening on/,
      'balancer',
    );
    const lbPids = processTree(lb.pid!);

    const through = `http://127.0.0.1:${LB_PORT}/echo`;
    const direct = `http://127.0.0.1:${BACKEND_PORTS[0]}/echo`;
    await run(through, WARMUP_S);
    const cpu0 = cpuMsOf(lbPids);
    const viaLb = await run(through, SECONDS);
    const lbCpuMs = cpuMsOf(lbPids) - cpu0;
    await run(direct, WARMUP_S);
    const viaDirect = await run(direct, SECONDS);

    const row = (name: string, r: autocannon.Result) =>
      `${name.padEnd(10)} ${r.requests.average.toFixed(0).padStart(8)} req/s   p50 ${String(r.latency.p50).padStart(4)} ms   p99 ${String(r.latency.p99).padStart(4)} ms   errors ${r.errors + r.non2xx}`;
    console.log(`/echo, ${CONNECTIONS} connections, ${SECONDS} s each, balancer with ${WORKERS} workers, ${os.availableParallelism()} cores`);
    console.log(row('balancer', viaLb));
    console.log(row('direct', viaDirect));
    console.log(
      `ratio balancer/direct: ${(viaLb.requests.average / viaDirect.requests.average).toFixed(2)} (req/s), p99 ${viaLb.latency.p99}/${viaDirect.latency.p99} ms`,
    );
    console.log(`balancer CPU per request: ${((lbCpuMs * 1000) / Math.max(1, viaLb.requests.total)).toFixed(1)} µs`);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(err.message);
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  process.exitCode = 1;
});
