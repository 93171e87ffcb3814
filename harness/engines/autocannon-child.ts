/**
 * Child process of the autocannon engine (forked by ./autocannon.ts). Running
 * autocannon here keeps its CPU off the harness process and lets the parent
 * meter it per PID. Protocol (IPC, JSON):
 *
 *   parent -> child  { type: 'start', spec: AutocannonChildSpec }
 *   child  -> parent { type: 'window-start', ... } once connections are up and warm-up is over
 *                    { type: 'bucket', bucket }    once per series interval
 *                    { type: 'window-end' }        the parent samples CPU on this
 *                    { type: 'result', result }    then the child exits 0
 *                    { type: 'error', message }    then the child exits 1
 *
 * Latency comes from autocannon's per-response `response` event, whose time
 * is process.hrtime() from writing the request to parsing the end of the
 * response: sub-µs precision, no coordinated-omission correction.
 */
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { EventEmitter } from 'node:events';
import type { SeriesBucket } from './engine.js';
import { classifyError, type AutocannonChildResult, type AutocannonChildSpec, type ChildMessage } from './autocannon-protocol.js';
import { createLatencyHistogram, encodeHistogram, recordUs } from '../result/histogram.js';

/** The parts of autocannon's (untyped, internal) Client this module touches.
 * Pinned to autocannon 8's lib/httpClient.js. */
interface AcClient extends EventEmitter {
  conn?: import('node:net').Socket;
  destroyed: boolean;
  pipelinedRequests?: { size(): number; clear(): void };
  _connect: () => void;
}

function send(msg: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

function runChild(spec: AutocannonChildSpec): void {
  const require = createRequire(import.meta.url);
  const autocannon = require('autocannon') as (opts: Record<string, unknown>) => EventEmitter & { stop(): void };

  const clients: AcClient[] = [];
  // Clients that have completed at least one response: "established" means
  // the server accepted and answered, not merely that the kernel finished the
  // handshake (a busy Node server leaves connections in its accept queue).
  // Counted per client, not per socket, so a server that resets some
  // connections does not hold the window back forever.
  const answered = new WeakSet<object>();
  let recording = false;
  let windowStartPerf = 0;

  const histogram = createLatencyHistogram();
  const bucketHistogram = createLatencyHistogram();
  let bucket = { requests: 0, errors: 0, bytes: 0 };
  const series: SeriesBucket[] = [];
  let requests = 0;
  let bytes = 0;
  const errors: Record<string, number> = {};
  const statusCounts: Record<string, number> = {};

  const countError = (kind: string): void => {
    if (!recording) return;
    errors[kind] = (errors[kind] ?? 0) + 1;
    bucket.errors++;
  };

  const setupClient = (client: AcClient): void => {
    clients.push(client);
    const connect = client._connect;
    // autocannon reconnects after `end`/`error` without dropping the request
    // that was in flight, so the next response would be timed from the lost
    // request's start. Clearing the queue first keeps timings true; a close
    // with a request in flight is counted (autocannon ignores it).
    client._connect = function (this: AcClient) {
      connect.call(this);
      const conn = this.conn;
      if (!conn) return;
      conn.prependListener('end', () => {
        if (!this.destroyed && (this.pipelinedRequests?.size() ?? 0) > 0) {
          countError('closed');
          this.pipelinedRequests?.clear();
        }
      });
      conn.prependListener('error', () => {
        this.pipelinedRequests?.clear();
      });
    };
  };

  const instance = autocannon({
    url: spec.url,
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections,
    // Stopped by this module; the duration is only a backstop.
    duration: Math.ceil((spec.connectTimeoutMs + spec.warmupMs + spec.durationMs) / 1000) + 30,
    timeout: spec.timeoutMs / 1000,
    ...(spec.rate ? { overallRate: spec.rate } : {}),
    setupClient,
    renderProgressBar: false,
    renderResultsTable: false,
    renderLatencyTable: false,
  });
  instance.on('error', (err: unknown) => void fail(err));

  instance.on('response', (client: AcClient, statusCode: number, resBytes: number, responseTimeMs: number) => {
    answered.add(client);
    if (!recording) return;
    const us = responseTimeMs * 1000;
    recordUs(histogram, us);
    recordUs(bucketHistogram, us);
    requests++;
    bytes += resBytes;
    bucket.requests++;
    bucket.bytes += resBytes;
    const key = String(statusCode);
    statusCounts[key] = (statusCounts[key] ?? 0) + 1;
    if (statusCode < 200 || statusCode > 299) countError('non2xx');
  });
  instance.on('reqError', (err: unknown) => countError(classifyError(err)));

  const established = (): number => clients.filter((c) => answered.has(c)).length;

  const runStartPerf = performance.now();
  const eld = monitorEventLoopDelay({ resolution: 10 });

  const poll = setInterval(() => {
    const elapsed = performance.now() - runStartPerf;
    if (established() < spec.connections && elapsed < spec.connectTimeoutMs) return;
    clearInterval(poll);
    const connectRampMs = elapsed;
    setTimeout(() => void startWindow(connectRampMs), spec.warmupMs);
  }, 5);

  const flushBucket = (tMs: number): void => {
    const b: SeriesBucket = {
      tMs,
      requests: bucket.requests,
      errors: bucket.errors,
      bytes: bucket.bytes,
      p99Us: bucketHistogram.totalCount ? bucketHistogram.getValueAtPercentile(99) : 0,
    };
    series.push(b);
    bucket = { requests: 0, errors: 0, bytes: 0 };
    bucketHistogram.reset();
    void send({ type: 'bucket', bucket: b });
  };

  const startWindow = async (connectRampMs: number): Promise<void> => {
    const connectionsEstablished = established();
    const startedAtMs = Date.now();
    windowStartPerf = performance.now();
    recording = true;
    eld.enable();
    void send({ type: 'window-start', startedAtMs, connectRampMs, connectionsEstablished });

    let next = 0;
    const ticker = setInterval(() => {
      flushBucket(next * spec.seriesIntervalMs);
      next++;
    }, spec.seriesIntervalMs);

    await new Promise((r) => setTimeout(r, spec.durationMs));
    recording = false;
    clearInterval(ticker);
    const durationMs = performance.now() - windowStartPerf;
    eld.disable();
    await send({ type: 'window-end' });
    // What completed after the last tick: its own bucket when the window is
    // not a multiple of the interval, else timer slack folded into the last.
    const last = series[series.length - 1];
    if (durationMs - next * spec.seriesIntervalMs > spec.seriesIntervalMs / 10 || !last) {
      flushBucket(next * spec.seriesIntervalMs);
    } else {
      last.requests += bucket.requests;
      last.errors += bucket.errors;
      last.bytes += bucket.bytes;
    }
    instance.stop();

    const result: AutocannonChildResult = {
      startedAtMs,
      durationMs,
      requests,
      bytes,
      errors,
      statusCounts,
      histogram: encodeHistogram(histogram),
      series,
      connectionsEstablished,
      connectRampMs,
      eventLoopDelayP99Ms: eld.count > 0 ? eld.percentile(99) / 1e6 : 0,
    };
    await send({ type: 'result', result });
    // Open sockets and autocannon's timers would keep the process alive.
    process.exit(0);
  };

  const fail = async (err: unknown): Promise<void> => {
    await send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  };
}

process.on('message', (msg: { type?: string; spec?: AutocannonChildSpec }) => {
  if (msg?.type === 'start' && msg.spec) runChild(msg.spec);
});
// The parent died: nothing left to report to.
process.on('disconnect', () => process.exit(0));
