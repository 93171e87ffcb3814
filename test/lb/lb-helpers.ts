/**
 * Shared pieces of the lb tests: scriptable node:http backends on port 0,
 * configs for them, a raw HTTP client, metric scraping, and a balancer
 * child process (for cluster, signal and failover tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { LbConfigSchema, type LbConfig } from '../../common/config.js';
import { parsePrometheusText, sumSamples } from '../../harness/sampling/prom-text.js';
import { setLogSink } from '../../lb/log.js';
import { startBalancer, type RunningBalancer } from '../../lb/standalone.js';
import { waitFor } from '../wait-for.js';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A test backend: counts hits, runs `handler` (replaceable). */
export interface TestBackend {
  name: string;
  port: number;
  url: string;
  hits: number;
  handler: Handler;
  server: http.Server;
  close(): Promise<void>;
  /** Listens again on the same port after close(). */
  restart(): Promise<void>;
}

/** Default backend behaviour: JSON echo of what it received. */
export const echoHandler: Handler = (req, res) => {
  if (req.url === '/health') {
    res.end('ok');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString() });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
};

export async function startBackend(name: string, handler: Handler = echoHandler, port = 0): Promise<TestBackend> {
  const b: TestBackend = {
    name,
    port,
    url: '',
    hits: 0,
    handler,
    server: null as unknown as http.Server,
    async close() {
      b.server.closeAllConnections();
      await new Promise<void>((r) => b.server.close(() => r()));
    },
    async restart() {
      await listen();
    },
  };
  const listen = async () => {
    b.server = http.createServer((req, res) => {
      if (req.url !== '/health') b.hits++;
      b.handler(req, res);
    });
    b.server.keepAliveTimeout = 10_000;
    b.server.listen(b.port, '127.0.0.1');
    await once(b.server, 'listening');
    b.port = (b.server.address() as AddressInfo).port;
    b.url = `http://127.0.0.1:${b.port}`;
  };
  await listen();
  return b;
}

/** A port that refuses connections (listened on, then closed). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A validated LbConfig for these backends on 127.0.0.1 port 0, with `extra` merged in. */
export function lbConfigFor(backends: readonly { name: string; url: string; weight?: number }[], extra: Record<string, unknown> = {}): LbConfig {
  return LbConfigSchema.parse({
    listen: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    workers: 1,
    algorithm: 'round_robin',
    backends: backends.map((b) => ({ name: b.name, url: b.url, weight: b.weight ?? 1 })),
    health: { active: { enabled: false }, passive: { enabled: true } },
    ...extra,
  });
}

/** A one-backend standalone balancer (retries off unless `extra` says otherwise), closed after test `t`. */
export async function withBalancer(
  t: { after(fn: () => Promise<void> | void): void },
  backend: { url: string },
  extra: Record<string, unknown> = {},
): Promise<RunningBalancer> {
  const lb = await startBalancer(lbConfigFor([{ name: 'b', url: backend.url }], { retries: { max: 0 }, ...extra }));
  t.after(() => lb.close(200));
  return lb;
}
/** Silences the balancer's log lines in this process; returns the captured lines. */
export function captureLogs(): string[] {
  const lines: string[] = [];
  setLogSink((l) => lines.push(l));
  return lines;
}

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/** One HTTP request with node:http (own agent per call unless given). */
export function httpRequest(
  url: string,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders | string[]; body?: string | Buffer; agent?: http.Agent | false } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers as http.OutgoingHttpHeaders, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Scrapes /metrics and returns a summing lookup. */
export async function scrape(metricsPort: number): Promise<{ text: string; get(name: string, labels?: Record<string, string>): number }> {
  const res = await httpRequest(`http://127.0.0.1:${metricsPort}/metrics`);
  const samples = parsePrometheusText(res.body);
  return { text: res.body, get: (name, labels = {}) => sumSamples(samples, name, labels) };
}

export { waitFor };

/** A balancer running `runBalancer` in a child process (real cluster, real signals). */
export interface LbProcess {
  child: ChildProcess;
  port: number;
  metricsPort: number;
  /** stderr so far. */
  log(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** SIGKILLs it if still running (teardown). */
  kill(): void;
}

export async function spawnBalancer(configPath: string, timeoutMs = 15_000): Promise<LbProcess> {
  const mainUrl = new URL('../../lb/main.js', import.meta.url).href;
  const code = `import(${JSON.stringify(mainUrl)}).then((m) => m.runBalancer({ configPath: ${JSON.stringify(configPath)} })).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(e.exitCode ?? 1); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  // A timeout is reported below, with the log, after the child is killed.
  await waitFor(() => /listening on http:\/\/\S+:(\d+) \(metrics http:\/\/\S+:(\d+)/.test(stderr) || child.exitCode !== null, timeoutMs, 25).catch(
    () => undefined,
  );
  const m = /listening on http:\/\/\S+:(\d+) \(metrics http:\/\/\S+:(\d+)/.exec(stderr);
  if (!m) {
    child.kill('SIGKILL');
    throw new Error(`balancer did not start: ${stderr}`);
  }
  return {
    child,
    port: Number(m[1]),
    metricsPort: Number(m[2]),
    log: () => stderr,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
