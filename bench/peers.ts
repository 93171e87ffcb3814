/**
 * Peer benchmark (not a test): lbbench's balancer beside nginx (2 workers)
 * and HAProxy (2 threads), through the same three test backends, with wrk,
 * in one run, interleaved (round 1: direct, nginx, haproxy, lbbench; round
 * 2: the same...). Prints one Markdown table of medians [min-max] and the
 * balancer's same-round ratios to each peer.
 *
 *   npm run build && node dist/bench/peers.js [options]
 *
 * Options:
 *   --repeats N        rounds (default 3)
 *   --seconds S        seconds per wrk measurement (default 5)
 *   --targets LIST     comma list of direct, nginx, haproxy, lbbench, and
 *                      lbbench:LABEL=DIR[@FLAG,FLAG...][#ACCEPT] (the
 *                      balancer of another built checkout, e.g. a baseline
 *                      worktree, optionally with node flags its workers
 *                      inherit and an lb.accept mode, e.g.
 *                      lbbench:semi=.@--max-semi-space-size=32 or
 *                      lbbench:shared=.#shared; floor:pipe and floor:parse,
 *                      the floors of bench/floor.ts: what a Node proxy pays
 *                      before any balancer logic; default
 *                      direct,nginx,haproxy,lbbench)
 *   --measures LIST    comma list of echo, fresh1000, connclose, bytes1m, idle,
 *                      openloop (default: all)
 *   --node PATH        node binary for the backends and lbbench (default: this one)
 *   --port-base N      backends N+1..N+3, target N+10, lb metrics N+11 (default 21300)
 *   --json FILE        also write every sample as JSON
 *   --max-seconds S    stop the whole run after S seconds, printing what was measured (default 900)
 *   --idle-connections N  connections the idle measure holds (default 5000,
 *                      at most 18000); more of them spread the runtime's
 *                      fixed growth (V8's young generation) thinner
 *
 * Measures (all against GET on the target's port):
 *   echo       wrk -t2 -c100 /echo: requests/s, p99, and the target's CPU per
 *              request (user+system of its process tree from /proc/<pid>/stat)
 *   fresh1000  wrk -t1 -c1000 /echo, 1,000 connections opened at once: p99, timeouts
 *   connclose  wrk -t2 -c50 -H 'Connection: close' /echo: new connections/s
 *   bytes1m    wrk -t2 -c50 /bytes/1048576: GB/s
 *   idle       5,000 (--idle-connections) idle keep-alive client connections (each served one
 *              request first): RSS growth of the target's processes per connection
 *   openloop   lbbench's own open-loop engine at 2,000 requests/s over 100
 *              connections on /echo (`lbbench load --rate 2000`): p99 from
 *              the intended send time
 *
 * Every config lives in a private temp dir; nginx and HAProxy are run as
 * plain foreground children (never the system service), and every process
 * started is stopped by PID, also on Ctrl-C or a failure.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { itemAt } from '../common/checked.js';
import { formatSpread } from './bench-kit.js';
import { findOnPath } from '../harness/engines/external-binary.js';
import { processTree, readProcStat } from '../harness/sampling/proc-stats.js';

const ALL_MEASURES = ['echo', 'fresh1000', 'connclose', 'bytes1m', 'idle', 'openloop'] as const;
type Measure = (typeof ALL_MEASURES)[number];
type Kind = 'direct' | 'nginx' | 'haproxy' | 'lbbench' | 'floor';

interface TargetSpec {
  /** Column name. */
  name: string;
  kind: Kind;
  /** lbbench: the checkout whose bin/lbbench.js runs. */
  dir?: string;
  /** lbbench: node flags (the workers inherit them). */
  nodeFlags?: string[];
  /** lbbench: `lb.accept` (default: the config's default). */
  accept?: string;
  /** floor: bench/floor.ts's mode. */
  floorMode?: 'pipe' | 'parse';
}

interface Options {
  repeats: number;
  seconds: number;
  targets: TargetSpec[];
  measures: Measure[];
  node: string;
  portBase: number;
  json: string | undefined;
  maxSeconds: number;
  /** Connections the idle measure holds. */
  idleConnections: number;
}

const REPO = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const WEIGHTS = [5, 3, 2];
/** The idle measure's default count, and its limit: the bench process holds
 * every socket, and these machines cap a process at 20,000 descriptors. */
const IDLE_CONNECTIONS = 5_000;
const MAX_IDLE_CONNECTIONS = 18_000;
const WARMUP_SECONDS = 1;

function usage(message: string): never {
  process.stderr.write(`peers: ${message}\n`);
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    repeats: 3,
    seconds: 5,
    targets: [],
    measures: [...ALL_MEASURES],
    node: process.execPath,
    portBase: 21_300,
    json: undefined,
    maxSeconds: 900,
    idleConnections: IDLE_CONNECTIONS,
  };
  let targets = 'direct,nginx,haproxy,lbbench';
  for (let i = 0; i < argv.length; i++) {
    const flag = itemAt(argv, i, 'an argument');
    const value = argv[++i];
    if (value === undefined) usage(`${flag} needs a value`);
    const num = (min: number): number => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < min) usage(`${flag}: expected a number >= ${min}, got ${JSON.stringify(value)}`);
      return n;
    };
    switch (flag) {
      case '--repeats':
        o.repeats = Math.floor(num(1));
        break;
      case '--seconds':
        o.seconds = num(1);
        break;
      case '--targets':
        targets = value;
        break;
      case '--measures': {
        const list = value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        for (const m of list)
          if (!(ALL_MEASURES as readonly string[]).includes(m)) usage(`--measures: unknown measure ${JSON.stringify(m)}; expected ${ALL_MEASURES.join(', ')}`);
        o.measures = list as Measure[];
        break;
      }
      case '--node':
        o.node = value;
        break;
      case '--port-base':
        o.portBase = Math.floor(num(1024));
        break;
      case '--json':
        o.json = value;
        break;
      case '--max-seconds':
        o.maxSeconds = num(10);
        break;
      case '--idle-connections':
        o.idleConnections = Math.floor(num(100));
        if (o.idleConnections > MAX_IDLE_CONNECTIONS) usage(`${flag}: at most ${MAX_IDLE_CONNECTIONS} (one process holds them all)`);
        break;
      default:
        usage(`unknown option ${JSON.stringify(flag)}`);
    }
  }
  for (const t of targets
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^lbbench:([\w.-]+)=([^@#]+)(?:@([^#]+))?(?:#([\w]+))?$/.exec(t);
    if (m)
      o.targets.push({
        name: `lbbench:${m[1]}`,
        kind: 'lbbench',
        dir: path.resolve(itemAt(m, 2, 'the directory of an lbbench:NAME=DIR target')),
        nodeFlags: m[3]?.split(',') ?? [],
        accept: m[4],
      });
    else if (t === 'direct' || t === 'nginx' || t === 'haproxy' || t === 'lbbench')
      o.targets.push({ name: t, kind: t, dir: t === 'lbbench' ? REPO : undefined });
    else if (t === 'floor:pipe' || t === 'floor:parse') o.targets.push({ name: t, kind: 'floor', floorMode: t === 'floor:pipe' ? 'pipe' : 'parse' });
    else usage(`--targets: unknown target ${JSON.stringify(t)}; expected direct, nginx, haproxy, lbbench, lbbench:LABEL=DIR, floor:pipe or floor:parse`);
  }
  if (o.targets.length === 0) usage('--targets: none given');
  return o;
}

/** Every child started, so that any exit path can stop them by PID. */
const children = new Set<ChildProcess>();

function startChild(cmd: string, args: string[], label: string): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let tail = '';
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-2000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('error', (err) => process.stderr.write(`peers: ${label}: ${err.message}\n`));
  child.once('exit', (code, signal) => {
    children.delete(child);
    if (!stoppingChildren.has(child)) process.stderr.write(`peers: ${label} exited (${signal ?? code}):\n${tail}\n`);
  });
  return child;
}

const stoppingChildren = new Set<ChildProcess>();

/** SIGTERM, then SIGKILL of the whole process tree after `graceMs`. */
async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  stoppingChildren.add(child);
  const tree = processTree(child.pid!);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const pid of tree) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
  // Workers of a master that exited first (none expected) are killed too.
  for (const pid of tree.slice(1)) {
    if (readProcStat(pid) === undefined) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function killAllNow(): void {
  for (const child of children) {
    for (const pid of child.pid ? processTree(child.pid) : []) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One GET over a fresh connection; resolves the status (0 on any failure). */
function probe(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    const done = (status: number) => {
      s.destroy();
      resolve(status);
    };
    s.setTimeout(1_000, () => done(0));
    s.on('error', () => done(0));
    s.on('connect', () => s.write(`GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      if (m) done(Number(m[1]));
    });
  });
}

async function waitReady(port: number, label: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${label} exited before it was ready`);
    if ((await probe(port, '/echo')) === 200) return;
    await sleep(100);
  }
  throw new Error(`${label} did not answer 200 on :${port}/echo within 15 s`);
}

interface Ports {
  backends: number[];
  target: number;
  metrics: number;
}

function nginxConfig(dir: string, p: Ports): string {
  return `worker_processes 2;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 10000; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream backends {
${p.backends.map((port, i) => `    server 127.0.0.1:${port} weight=${WEIGHTS[i]};`).join('\n')}
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${p.target} backlog=4096;
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

function haproxyConfig(p: Ports): string {
  return `global
  nbthread 2
  maxconn 9000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:${p.target}
  default_backend be
backend be
  balance roundrobin
${p.backends.map((port, i) => `  server b${i + 1} 127.0.0.1:${port} weight ${WEIGHTS[i]}`).join('\n')}
`;
}

function lbbenchConfig(p: Ports, accept: string | undefined): string {
  return [
    'lb:',
    `  listen: { host: 127.0.0.1, port: ${p.target} }`,
    `  metrics: { host: 127.0.0.1, port: ${p.metrics} }`,
    '  workers: 2',
    ...(accept ? [`  accept: ${accept}`] : []),
    '  algorithm: weighted_round_robin',
    '  backends:',
    ...p.backends.map((port, i) => `    - { name: backend-${port}, url: "http://127.0.0.1:${port}", weight: ${WEIGHTS[i]} }`),
    '  timeouts: { drainMs: 2000 }',
    '',
  ].join('\n');
}

/** Starts the target; resolves its root process and the port to load. */
async function startTarget(t: TargetSpec, o: Options, p: Ports, tmp: string): Promise<{ child: ChildProcess | null; port: number }> {
  if (t.kind === 'direct') return { child: null, port: itemAt(p.backends, 0, 'the first backend port') };
  const dir = path.join(tmp, t.name.replace(/[^\w.-]/g, '_'));
  mkdirSync(dir, { recursive: true });
  let child: ChildProcess;
  if (t.kind === 'nginx') {
    const file = path.join(dir, 'nginx.conf');
    writeFileSync(file, nginxConfig(dir, p));
    child = startChild('nginx', ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', file, '-g', 'daemon off; master_process on;'], t.name);
  } else if (t.kind === 'haproxy') {
    const file = path.join(dir, 'haproxy.cfg');
    writeFileSync(file, haproxyConfig(p));
    child = startChild('haproxy', ['-f', file, '-db'], t.name);
  } else if (t.kind === 'floor') {
    const args = ['--mode', t.floorMode ?? 'pipe', '--port', String(p.target), '--backends', p.backends.join(','), '--workers', '2'];
    child = startChild(o.node, [path.join(REPO, 'dist/bench/floor.js'), ...args], t.name);
  } else {
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, lbbenchConfig(p, t.accept));
    child = startChild(o.node, [...(t.nodeFlags ?? []), path.join(t.dir!, 'bin/lbbench.js'), 'lb', '--config', file], t.name);
  }
  await waitReady(p.target, t.name, child);
  return { child, port: p.target };
}

interface WrkResult {
  requests: number;
  durationUs: number;
  bytes: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p99Us: number;
}

const WRK_LUA = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('PEERSJSON {"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p99Us":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(99)))
end
`;

function runWrk(args: string[], seconds: number, luaFile: string): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-s', luaFile, '-d', `${seconds}s`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // wrk stops by itself after -d; this bounds a wedged one.
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 15) * 1000);
    child.on('error', reject);
    child.once('exit', () => {
      children.delete(child);
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('PEERSJSON '));
      if (!line) return reject(new Error(`wrk ${args.join(' ')} printed no result:\n${out.slice(-1000)}`));
      resolve(JSON.parse(line.slice('PEERSJSON '.length)) as WrkResult);
    });
  });
}

/** `lbbench load --engine open-loop --rate 2000 -c 100` against `url`: its LoadResult. */
function runOpenLoop(o: Options, url: string): Promise<{ latency: { p99Us: number }; errors: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const args = [
      path.join(REPO, 'bin/lbbench.js'),
      'load',
      url,
      '--engine',
      'open-loop',
      '--rate',
      '2000',
      '--connections',
      '100',
      '--duration',
      `${o.seconds}s`,
      '--warmup',
      '1s',
      '--json',
    ];
    const child = spawn(o.node, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (o.seconds + 30) * 1000);
    child.on('error', reject);
    child.once('exit', () => {
      children.delete(child);
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.slice(out.indexOf('{'))) as { latency: { p99Us: number }; errors: Record<string, number> });
      } catch {
        reject(new Error(`lbbench load printed no result:\n${(err || out).slice(-1000)}`));
      }
    });
  });
}

/** CPU ms of `pid`'s process tree (0 for no process). */
function treeCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  return processTree(pid).reduce((s, p) => s + (readProcStat(p)?.cpuMs ?? 0), 0);
}

function treeRssBytes(pid: number): number {
  return processTree(pid).reduce((s, p) => s + (readProcStat(p)?.rssBytes ?? 0), 0);
}

/** Opens `n` keep-alive connections, each served one GET /echo, and holds them. */
async function openIdle(port: number, n: number): Promise<{ sockets: net.Socket[]; served: number }> {
  const sockets: net.Socket[] = [];
  let served = 0;
  const batch = 200;
  for (let i = 0; i < n; i += batch) {
    await Promise.all(
      Array.from(
        { length: Math.min(batch, n - i) },
        () =>
          new Promise<void>((resolve) => {
            const s = net.connect(port, '127.0.0.1');
            sockets.push(s);
            s.setTimeout(5_000, () => resolve());
            s.on('error', () => resolve());
            s.on('connect', () => s.write('GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
            s.once('data', () => {
              served++;
              s.setTimeout(0);
              resolve();
            });
          }),
      ),
    );
  }
  return { sockets, served };
}

/** Metric name → value, for one (round, target). */
type Sample = Record<string, number>;

async function measureTarget(t: TargetSpec, o: Options, p: Ports, tmp: string, luaFile: string): Promise<Sample> {
  const sample: Sample = {};
  const { child, port } = await startTarget(t, o, p, tmp);
  try {
    const base = `http://127.0.0.1:${port}`;
    const pid = child?.pid;
    for (const m of o.measures) {
      if (m === 'echo') {
        await runWrk(['-t2', '-c100', `${base}/echo`], WARMUP_SECONDS, luaFile);
        const cpu0 = treeCpuMs(pid);
        const r = await runWrk(['-t2', '-c100', `${base}/echo`], o.seconds, luaFile);
        const cpuMs = treeCpuMs(pid) - cpu0;
        sample.echo_rps = r.requests / (r.durationUs / 1e6);
        sample.echo_p99_ms = r.p99Us / 1000;
        sample.echo_errors = r.connect + r.read + r.write + r.status + r.timeout;
        if (pid !== undefined) {
          sample.cpu_us_per_req = (cpuMs * 1000) / Math.max(1, r.requests);
          sample.cpu_cores = cpuMs / (r.durationUs / 1000);
        }
      } else if (m === 'fresh1000') {
        const r = await runWrk(['-t1', '-c1000', `${base}/echo`], o.seconds, luaFile);
        sample.c1000_p99_ms = r.p99Us / 1000;
        sample.c1000_timeouts = r.timeout;
        sample.c1000_errors = r.connect + r.read + r.write + r.status;
        sample.c1000_rps = r.requests / (r.durationUs / 1e6);
      } else if (m === 'connclose') {
        const r = await runWrk(['-t2', '-c50', '-H', 'Connection: close', `${base}/echo`], o.seconds, luaFile);
        sample.new_conns_per_s = r.requests / (r.durationUs / 1e6);
        sample.connclose_errors = r.connect + r.status + r.timeout;
      } else if (m === 'bytes1m') {
        const r = await runWrk(['-t2', '-c50', `${base}/bytes/1048576`], o.seconds, luaFile);
        sample.gb_per_s = r.bytes / (r.durationUs / 1e6) / 1e9;
        sample.bytes1m_errors = r.connect + r.read + r.write + r.status + r.timeout;
      } else if (m === 'openloop') {
        const r = await runOpenLoop(o, `${base}/echo`);
        sample.openloop_p99_ms = r.latency.p99Us / 1000;
        sample.openloop_errors = Object.values(r.errors).reduce((a, b) => a + b, 0);
      } else if (m === 'idle' && pid !== undefined) {
        await sleep(500);
        const rss0 = treeRssBytes(pid);
        const { sockets, served } = await openIdle(port, o.idleConnections);
        await sleep(1_000);
        const rss1 = treeRssBytes(pid);
        for (const s of sockets) s.destroy();
        sample.rss_kb_per_idle_conn = (rss1 - rss0) / 1024 / Math.max(1, served);
        sample.idle_served = served;
      }
    }
  } finally {
    if (child) await stopChild(child);
  }
  return sample;
}

interface Row {
  metric: string;
  label: string;
  /** Whether a bigger value is better (for reading the ratio). */
  higherIsBetter: boolean;
  digits: number;
}

const ROWS: Row[] = [
  { metric: 'echo_rps', label: 'requests/s, /echo, c=100', higherIsBetter: true, digits: 0 },
  { metric: 'cpu_us_per_req', label: 'CPU µs per request, /echo, c=100', higherIsBetter: false, digits: 1 },
  { metric: 'cpu_cores', label: 'CPU cores used, /echo, c=100', higherIsBetter: false, digits: 2 },
  { metric: 'echo_p99_ms', label: 'p99 ms, /echo, c=100', higherIsBetter: false, digits: 2 },
  { metric: 'c1000_p99_ms', label: 'p99 ms, c=1000 fresh connections', higherIsBetter: false, digits: 1 },
  { metric: 'c1000_timeouts', label: 'timeouts, c=1000 fresh connections', higherIsBetter: false, digits: 0 },
  { metric: 'c1000_errors', label: 'socket errors, c=1000 fresh connections', higherIsBetter: false, digits: 0 },
  { metric: 'new_conns_per_s', label: 'new connections/s (Connection: close, c=50)', higherIsBetter: true, digits: 0 },
  { metric: 'gb_per_s', label: '1 MiB throughput GB/s, c=50', higherIsBetter: true, digits: 2 },
  { metric: 'openloop_p99_ms', label: 'open-loop p99 ms at 2,000 req/s, c=100', higherIsBetter: false, digits: 2 },
  { metric: 'rss_kb_per_idle_conn', label: 'RSS KB per idle connection ({idle})', higherIsBetter: false, digits: 2 },
];

/** samples[round][target name] */
function renderTable(o: Options, samples: Record<string, Sample>[]): string {
  const names = o.targets.map((t) => t.name);
  const lbNames = o.targets.filter((t) => t.kind === 'lbbench' || t.kind === 'floor').map((t) => t.name);
  const peers = names.filter((n) => n === 'nginx' || n === 'haproxy');
  const ratioCols: [string, string][] = [];
  for (const lb of lbNames) for (const peer of peers) ratioCols.push([lb, peer]);
  const [lbA, lbB, ...more] = lbNames;
  if (lbA !== undefined && lbB !== undefined && more.length === 0) ratioCols.push([lbB, lbA]);
  const header = ['measure', ...names, ...ratioCols.map(([a, b]) => `${a} / ${b}`)];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of ROWS) {
    const values = names.map((n) => samples.map((s) => s[n]?.[row.metric]).filter((v): v is number => v !== undefined));
    if (values.every((v) => v.length === 0)) continue;
    const ratios = ratioCols.map(([a, b]) => {
      const rs: number[] = [];
      for (const s of samples) {
        const x = s[a]?.[row.metric];
        const y = s[b]?.[row.metric];
        if (x !== undefined && y !== undefined && y !== 0) rs.push(x / y);
      }
      return formatSpread(rs, 2);
    });
    const label = row.label.replace('{idle}', String(o.idleConnections));
    lines.push(`| ${[label, ...values.map((v) => formatSpread(v, row.digits)), ...ratios].join(' | ')} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const wantsPeer = (k: Kind) => o.targets.some((t) => t.kind === k);
  for (const [bin, kind] of [
    ['wrk', 'direct'],
    ['nginx', 'nginx'],
    ['haproxy', 'haproxy'],
  ] as const) {
    if ((bin === 'wrk' || wantsPeer(kind as Kind)) && findOnPath(bin) === undefined) usage(`${bin} is not on PATH (apt-get install -y ${bin})`);
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lbbench-peers-'));
  const luaFile = path.join(tmp, 'report.lua');
  writeFileSync(luaFile, WRK_LUA);
  const p: Ports = { backends: [1, 2, 3].map((i) => o.portBase + i), target: o.portBase + 10, metrics: o.portBase + 11 };
  const samples: Record<string, Sample>[] = [];
  let interrupted = '';
  const onSignal = (sig: string) => {
    interrupted = `interrupted by ${sig}`;
    killAllNow();
    finish();
    process.exit(130);
  };
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    const runtime = execFileSync(o.node, ['--version'], { encoding: 'utf8' }).trim();
    console.log(
      `\n## Peer benchmark: ${samples.length} round(s) of ${o.seconds} s per measure, ${os.availableParallelism()} cores, node ${runtime}${interrupted ? ` (${interrupted})` : ''}\n`,
    );
    console.log(renderTable(o, samples));
    console.log('\nmedian [min-max] over rounds; ratios are per round (same run), then median [min-max].');
    if (o.json) writeFileSync(o.json, JSON.stringify({ options: { ...o, targets: o.targets }, node: runtime, samples }, null, 2));
    rmSync(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  const deadline = Date.now() + o.maxSeconds * 1000;
  const backends = p.backends.map((port) =>
    startChild(o.node, [path.join(REPO, 'bin/lbbench.js'), 'backend', '--port', String(port), '--host', '127.0.0.1'], `backend ${port}`),
  );
  try {
    await Promise.all(p.backends.map((port, i) => waitReady(port, `backend ${port}`, itemAt(backends, i, `the child of backend ${port}`))));
    for (let round = 0; round < o.repeats && !interrupted; round++) {
      const s: Record<string, Sample> = {};
      samples.push(s);
      for (const t of o.targets) {
        if (Date.now() > deadline) {
          interrupted = `stopped at --max-seconds ${o.maxSeconds}`;
          break;
        }
        process.stderr.write(`peers: round ${round + 1}/${o.repeats}: ${t.name}\n`);
        try {
          s[t.name] = await measureTarget(t, o, p, tmp, luaFile);
        } catch (err) {
          // One target failing (e.g. not installed right) must not lose the others' figures.
          process.stderr.write(`peers: ${t.name}: ${(err as Error).message}; its cells stay empty this round\n`);
        }
      }
      if (interrupted) break;
    }
  } finally {
    await Promise.all(backends.map((b) => stopChild(b)));
    finish();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`peers: ${err.message}\n`);
  killAllNow();
  process.exitCode = 1;
});
