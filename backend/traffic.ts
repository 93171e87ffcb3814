/**
 * The traffic endpoints (`/echo`, `/bytes/:n`, `/delay/:ms`, `/status/:code`,
 * `/health`, 404) and fault injection. This is the hot path: no regex, no
 * router, no logging, and the common responses reuse prebuilt buffers and
 * header lists.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_DELAY_MS } from './options.js';
import { serveInSlot } from './capacity.js';
import type { BackendState } from './state.js';

/** Size of the preallocated filler buffer, and of each chunk written by
 * `/bytes/:n`, bytes. Larger bodies are written chunk by chunk, honouring
 * backpressure, so memory stays bounded whatever n is. 1 MiB chunks beat
 * 64 KiB and 256 KiB ones here: 1.6 GB/s against 0.8 and 1.3 for 1 MiB
 * bodies over 16 keep-alive connections, at less server CPU per byte. */
export const BYTES_CHUNK = 1024 * 1024;

/** Body bytes sent before a `closeRate` fault destroys the connection; the
 * response declares twice as many in `content-length`. */
export const CUT_BODY_BYTES = 512;

/** Largest n accepted by `/bytes/:n` (2^53 - 1). */
export const MAX_BYTES = Number.MAX_SAFE_INTEGER;

const filler = Buffer.alloc(BYTES_CHUNK, 'x');
const cutDeclaredLength = String(CUT_BODY_BYTES * 2);
const injectedErrorBody = Buffer.from('injected error\n');
const unhealthyBody = Buffer.from('unhealthy\n');
const notFoundBody = Buffer.from('not found\n');

/** Route ids; traffic routes first, admin routes from ROUTE_STATS on. */
export const ROUTE_ECHO = 0;
export const ROUTE_BYTES = 1;
export const ROUTE_DELAY = 2;
export const ROUTE_STATUS = 3;
export const ROUTE_HEALTH = 4;
export const ROUTE_NOT_FOUND = 5;
export const ROUTE_STATS = 6;
export const ROUTE_METRICS = 7;
export const ROUTE_CONTROL = 8;

/** Maps a path (query already removed) to a route id. */
export function routeOf(path: string): number {
  if (path === '/echo') return ROUTE_ECHO;
  if (path.startsWith('/bytes/')) return ROUTE_BYTES;
  if (path === '/health') return ROUTE_HEALTH;
  if (path.startsWith('/delay/')) return ROUTE_DELAY;
  if (path.startsWith('/status/')) return ROUTE_STATUS;
  if (path === '/stats') return ROUTE_STATS;
  if (path === '/metrics') return ROUTE_METRICS;
  if (path === '/control' || path.startsWith('/control/')) return ROUTE_CONTROL;
  return ROUTE_NOT_FOUND;
}

/** Counts a traffic request in its family. */
export function countTraffic(state: BackendState, route: number): void {
  const s = state.stats;
  s.requestsTotal++;
  const f = s.byFamily;
  switch (route) {
    case ROUTE_ECHO:
      f.echo++;
      break;
    case ROUTE_BYTES:
      f.bytes++;
      break;
    case ROUTE_DELAY:
      f.delay++;
      break;
    case ROUTE_STATUS:
      f.status++;
      break;
    case ROUTE_HEALTH:
      f.health++;
      break;
    default:
      f.notFound++;
  }
}

/** True when any fault that acts on traffic is set. */
export function faultsActive(state: BackendState): boolean {
  const f = state.faults;
  return f.hang || f.latencyMs > 0 || f.errorRate > 0 || f.closeRate > 0 || f.concurrencyLimit > 0 || f.serviceTimeMs > 0;
}

const OUTCOME_SERVE = 0;
const OUTCOME_ERROR = 1;
const OUTCOME_CLOSE = 2;

/**
 * Serves a traffic request under the current faults: `hang` holds it forever;
 * otherwise the error and close draws are made now, and the outcome (500, a
 * cut connection or the real answer) follows after `latencyMs`.
 */
export function serveWithFaults(state: BackendState, route: number, path: string, req: IncomingMessage, res: ServerResponse): void {
  const f = state.faults;
  const injected = state.stats.faultsInjected;
  if (f.hang) {
    injected.hang++;
    // During close nothing new is held: a hung request would only delay it.
    if (state.closing) {
      res.destroy();
      return;
    }
    state.hung.add(res);
    res.once('close', () => state.hung.delete(res));
    return;
  }
  // Draw only for rates that are set, so an injected random sequence maps
  // one value to one decision.
  const outcome =
    f.errorRate > 0 && state.random() < f.errorRate ? OUTCOME_ERROR : f.closeRate > 0 && state.random() < f.closeRate ? OUTCOME_CLOSE : OUTCOME_SERVE;
  const finish = (): void => {
    if (outcome === OUTCOME_ERROR) sendInjectedError(state, res);
    else if (outcome === OUTCOME_CLOSE) {
      if (route !== ROUTE_HEALTH) {
        const m = req.method ?? '';
        state.stats.cutsByMethod[m] = (state.stats.cutsByMethod[m] ?? 0) + 1;
      }
      cutResponse(state, res);
    } else serveTraffic(state, route, path, req, res);
  };
  const afterLatency = (): void => {
    if (f.concurrencyLimit > 0 || f.serviceTimeMs > 0) serveInSlot(state, res, finish);
    else finish();
  };
  if (f.latencyMs > 0) {
    injected.latency++;
    const timer = setTimeout(afterLatency, f.latencyMs);
    res.once('close', () => clearTimeout(timer));
  } else {
    afterLatency();
  }
}

/** Answers a traffic request without faults. */
export function serveTraffic(state: BackendState, route: number, path: string, req: IncomingMessage, res: ServerResponse): void {
  switch (route) {
    case ROUTE_ECHO:
      if (req.method === 'GET' || req.method === 'HEAD') sendName(state, req, res, 200);
      else echoBody(state, req, res);
      return;
    case ROUTE_BYTES:
      serveBytes(state, path, req, res);
      return;
    case ROUTE_DELAY:
      serveDelay(state, path, req, res);
      return;
    case ROUTE_STATUS:
      serveStatus(state, path, req, res);
      return;
    case ROUTE_HEALTH:
      if (state.faults.unhealthy) sendText(state, res, 503, unhealthyBody);
      else sendName(state, req, res, 200);
      return;
    default:
      sendText(state, res, 404, notFoundBody);
  }
}

/** `<name>\n` with the prebuilt headers. */
function sendName(state: BackendState, req: IncomingMessage, res: ServerResponse, status: number): void {
  if (req.method !== 'HEAD') state.stats.bytesOut += state.nameBody.length;
  res.writeHead(status, state.nameHeaders);
  res.end(state.nameBody);
}

/** A small text body with `x-backend`. */
export function sendText(state: BackendState, res: ServerResponse, status: number, body: Buffer | string): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  state.stats.bytesOut += buf.length;
  res.writeHead(status, [...state.textHeaders, 'content-length', String(buf.length)]);
  res.end(buf);
}

function sendInjectedError(state: BackendState, res: ServerResponse): void {
  state.stats.faultsInjected.error++;
  sendText(state, res, 500, injectedErrorBody);
}

/** Sends headers promising CUT_BODY_BYTES * 2, half of that, then destroys
 * the connection: the client sees a response cut mid-body. */
function cutResponse(state: BackendState, res: ServerResponse): void {
  state.stats.faultsInjected.close++;
  state.stats.bytesOut += CUT_BODY_BYTES;
  res.writeHead(200, [...state.textHeaders, 'content-length', cutDeclaredLength]);
  // Destroy once the bytes reached the kernel, so the client really gets
  // headers and part of the body before the connection goes.
  res.write(filler.subarray(0, CUT_BODY_BYTES), () => res.destroy());
}

/**
 * Echoes the request body as it arrives, pausing the request while the
 * response is backed up, so memory stays bounded for any body size. The
 * request's `content-length`, when given, is the response's.
 */
function echoBody(state: BackendState, req: IncomingMessage, res: ServerResponse): void {
  const stats = state.stats;
  const length = req.headers['content-length'];
  res.writeHead(200, length === undefined ? state.textHeaders : [...state.textHeaders, 'content-length', length]);
  req.on('data', (chunk: Buffer) => {
    stats.bytesIn += chunk.length;
    stats.bytesOut += chunk.length;
    if (!res.write(chunk)) req.pause();
  });
  res.on('drain', () => req.resume());
  req.on('end', () => res.end());
  // The client went away mid-body: nothing left to answer.
  req.on('error', () => res.destroy());
}

/** Parses the decimal digits of `s` from `from` (at most 15); -1 if invalid. */
export function parseUint(s: string, from: number): number {
  const end = s.length;
  if (from >= end || end - from > 15) return -1;
  let n = 0;
  for (let i = from; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function serveBytes(state: BackendState, path: string, req: IncomingMessage, res: ServerResponse): void {
  const n = parseUint(path, 7);
  if (n < 0 || n > MAX_BYTES) {
    sendText(state, res, 400, `bad byte count in ${path}: expected an integer 0..${MAX_BYTES}\n`);
    return;
  }
  res.writeHead(200, ['x-backend', state.name, 'content-type', 'application/octet-stream', 'content-length', String(n)]);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  if (n <= BYTES_CHUNK) {
    state.stats.bytesOut += n;
    res.end(n === BYTES_CHUNK ? filler : filler.subarray(0, n));
    return;
  }
  streamBytes(state, res, n);
}

/** Writes n filler bytes chunk by chunk, waiting for 'drain' when the socket
 * is backed up. Stops when the client goes away ('drain' never comes). */
function streamBytes(state: BackendState, res: ServerResponse, n: number): void {
  const stats = state.stats;
  let left = n;
  const pump = (): void => {
    while (left > 0) {
      const len = left < BYTES_CHUNK ? left : BYTES_CHUNK;
      const chunk = len === BYTES_CHUNK ? filler : filler.subarray(0, len);
      left -= len;
      stats.bytesOut += len;
      if (left === 0) {
        res.end(chunk);
        return;
      }
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

function serveDelay(state: BackendState, path: string, req: IncomingMessage, res: ServerResponse): void {
  const ms = parseUint(path, 7);
  if (ms < 0 || ms > MAX_DELAY_MS) {
    sendText(state, res, 400, `bad delay in ${path}: expected an integer 0..${MAX_DELAY_MS} (ms)\n`);
    return;
  }
  const timer = setTimeout(() => sendName(state, req, res, 200), ms);
  res.once('close', () => clearTimeout(timer));
}

/** Interim statuses Node can send before a final 200. */
const INTERIM_STATUS = new Set([100, 102, 103]);

function serveStatus(state: BackendState, path: string, req: IncomingMessage, res: ServerResponse): void {
  const code = parseUint(path, 8);
  if (code < 100 || code > 599) {
    sendText(state, res, 400, `bad status in ${path}: expected an integer 100..599\n`);
    return;
  }
  if (code < 200) {
    // A 1xx is never a final answer: send it as an interim response followed
    // by a 200. Node can only send these three.
    if (!INTERIM_STATUS.has(code)) {
      sendText(state, res, 400, `bad status in ${path}: of 1xx only 100, 102 and 103 can be sent (as interim responses before a 200)\n`);
      return;
    }
    if (code === 100) res.writeContinue();
    else if (code === 102) res.writeProcessing();
    else res.writeEarlyHints({ link: '</echo>; rel=preload' });
    sendName(state, req, res, 200);
    return;
  }
  if (code === 204 || code === 304) {
    // No body and, for 204, no content-length (RFC 9110 §8.6).
    res.writeHead(code, state.textHeaders);
    res.end();
    return;
  }
  sendName(state, req, res, code);
}
