/**
 * The admin endpoints: `/stats`, `/metrics` and `/control`. Faults never
 * apply here, and they are counted as the `admin` family, outside the total.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LbbenchError } from '../common/errors.js';
import { createBackendMetrics } from './metrics.js';
import { NO_FAULTS, applyFaultPatch, parseFaultPatch } from './options.js';
import type { BackendState } from './state.js';
import { ROUTE_METRICS, ROUTE_STATS } from './traffic.js';
import { ErrorCode, type ErrorCodeValue } from '../common/error-codes.js';

/** Largest JSON body `/control` reads, bytes; larger gets 413. */
export const MAX_CONTROL_BODY_BYTES = 64 * 1024;

/** Answers an admin request (`route` is ROUTE_STATS, ROUTE_METRICS or ROUTE_CONTROL). */
export function serveAdmin(state: BackendState, route: number, path: string, url: string, req: IncomingMessage, res: ServerResponse): void {
  state.stats.byFamily.admin++;
  if (route === ROUTE_STATS) {
    if (!allowMethods(state, req, res, 'GET, HEAD')) return;
    sendJson(state, res, 200, state.stats.snapshot(state.name, state.port, state.faults));
    return;
  }
  if (route === ROUTE_METRICS) {
    if (!allowMethods(state, req, res, 'GET, HEAD')) return;
    serveMetrics(state, res);
    return;
  }
  if (path === '/control') {
    if (req.method === 'GET' || req.method === 'HEAD') {
      sendJson(state, res, 200, state.faults);
      return;
    }
    if (!allowMethods(state, req, res, 'GET, HEAD, POST, PUT')) return;
    readJson(state, req, res, (body) => {
      applyFaultPatch(state.faults, parseFaultPatch(body));
      sendJson(state, res, 200, state.faults);
    });
    return;
  }
  if (path === '/control/reset') {
    if (!allowMethods(state, req, res, 'POST, PUT')) return;
    readJson(state, req, res, (body) => {
      const resetStats = wantsStatsReset(url, body);
      applyFaultPatch(state.faults, NO_FAULTS);
      if (resetStats) state.stats.reset();
      sendJson(state, res, 200, { faults: state.faults, statsReset: resetStats });
    });
    return;
  }
  sendJson(state, res, 404, errorBody(ErrorCode.NOT_FOUND, `no such control endpoint ${path}; use /control or /control/reset`));
}

/** `?stats=1|true` or a JSON body `{"stats": true}` also zeroes the counters. */
function wantsStatsReset(url: string, body: unknown): boolean {
  const q = url.indexOf('?');
  if (q !== -1) {
    const v = new URLSearchParams(url.slice(q + 1)).get('stats');
    if (v === '1' || v === 'true') return true;
  }
  if (body === undefined) return false;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequest('expected a JSON object like {"stats": true}, or no body');
  }
  const extra = Object.keys(body).filter((k) => k !== 'stats');
  if (extra.length > 0) throw new BadRequest(`unknown field(s) ${extra.join(', ')}; only "stats" is allowed`);
  const stats = (body as { stats?: unknown }).stats;
  if (stats !== undefined && typeof stats !== 'boolean') throw new BadRequest(`stats: expected a boolean (got ${JSON.stringify(stats)})`);
  return stats === true;
}

function serveMetrics(state: BackendState, res: ServerResponse): void {
  state.metrics ??= createBackendMetrics(state.stats, state.faults, state.name, state.processMetrics);
  const metrics = state.metrics;
  metrics.render().then(
    (text) => {
      const buf = Buffer.from(text);
      res.writeHead(200, ['x-backend', state.name, 'content-type', metrics.contentType, 'content-length', String(buf.length)]);
      res.end(buf);
    },
    (err: unknown) => sendJson(state, res, 500, errorBody(ErrorCode.METRICS, `metrics collection failed: ${String(err)}`)),
  );
}

/** A bad `/control` request; answered 400. */
class BadRequest extends LbbenchError {
  constructor(message: string) {
    super(ErrorCode.BAD_REQUEST, message);
  }
}

/**
 * Reads a JSON body of at most MAX_CONTROL_BODY_BYTES (empty gives
 * `undefined`) and hands it to `use`. Errors thrown by `use` that carry a
 * code (validation) become 400 with their message.
 */
function readJson(state: BackendState, req: IncomingMessage, res: ServerResponse, use: (body: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_CONTROL_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk);
  });
  req.on('error', () => res.destroy());
  req.on('end', () => {
    if (tooLarge) {
      sendJson(state, res, 413, errorBody(ErrorCode.BODY_TOO_LARGE, `body over ${MAX_CONTROL_BODY_BYTES} bytes`));
      return;
    }
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text);
      } catch (err) {
        sendJson(state, res, 400, errorBody(ErrorCode.BAD_REQUEST, `body is not JSON: ${(err as Error).message}`));
        return;
      }
    }
    try {
      use(body);
    } catch (err) {
      if (err instanceof LbbenchError) sendJson(state, res, 400, errorBody(err.code, err.message));
      else sendJson(state, res, 500, errorBody(ErrorCode.INTERNAL, String(err)));
    }
  });
}

function allowMethods(state: BackendState, req: IncomingMessage, res: ServerResponse, allow: string): boolean {
  if (allow.split(', ').includes(req.method ?? '')) return true;
  const buf = Buffer.from(JSON.stringify(errorBody(ErrorCode.METHOD, `method ${req.method} not allowed; allowed: ${allow}`)) + '\n');
  res.writeHead(405, ['x-backend', state.name, 'allow', allow, 'content-type', 'application/json', 'content-length', String(buf.length)]);
  res.end(buf);
  return false;
}

function errorBody(code: ErrorCodeValue, message: string): { error: { code: ErrorCodeValue; message: string } } {
  return { error: { code, message } };
}

function sendJson(state: BackendState, res: ServerResponse, status: number, value: unknown): void {
  const buf = Buffer.from(JSON.stringify(value) + '\n');
  res.writeHead(status, ['x-backend', state.name, 'content-type', 'application/json', 'content-length', String(buf.length)]);
  res.end(buf);
}
