/**
 * The test backend server: a bare `node:http` server with a hand-rolled
 * dispatch (see traffic.ts for the endpoints and admin.ts for the admin
 * ones). Used in-process by tests and by `runBackend` for the CLI.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { InvalidRunError } from '../common/errors.js';
import { serveAdmin } from './admin.js';
import { createCapacityState } from './capacity.js';
import { NO_FAULTS, applyFaultPatch, checkBackendName, checkPort, parseFaultPatch, type BackendOptions, type FaultSettings } from './options.js';
import { setIdentity, type BackendState } from './state.js';
import { BackendStats } from './stats.js';
import { ROUTE_STATS, countTraffic, faultsActive, routeOf, serveTraffic, serveWithFaults } from './traffic.js';
import { ErrorCode } from '../common/error-codes.js';

export type { BackendOptions, FaultSettings } from './options.js';
export { BackendStats } from './stats.js';

/** Default time in-flight requests get to finish on close, ms. */
export const DEFAULT_DRAIN_MS = 2000;
/** Default keep-alive idle timeout, ms: above the balancer's 60 s pool idle
 * timeout, so the client side (the balancer) always closes an idle connection
 * first and never reuses one the backend is closing. */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** One backend server. */
export interface BackendServer {
  /** Starts listening; resolves with the port bound. Rejects with
   * InvalidRunError `LBB_ERR_BACKEND_LISTEN` (exit 3) if the port is busy. */
  listen(): Promise<number>;
  /**
   * Stops accepting, closes idle connections at once, destroys requests held
   * by `hang`, gives in-flight requests `drainMs` to finish, then destroys
   * what is left. Resolves when every connection is closed. Idempotent.
   */
  close(): Promise<void>;
  /** Live counters (plain numbers). */
  readonly stats: BackendStats;
  /** Live fault settings, read on every request. */
  readonly faults: FaultSettings;
  /** Resolved name: the option, else `backend-<port>` once listening. */
  readonly name: string;
  /** Port bound; 0 before listen(). */
  readonly port: number;
  /** Validates and applies a partial fault update (same rules as `POST
   * /control`); throws UsageError on bad input. Returns the new settings. */
  setFaults(patch: unknown): FaultSettings;
  /** Clears every fault; with `resetStats`, zeroes the counters too. */
  reset(resetStats?: boolean): void;
}

/**
 * Creates a backend. Nothing listens until `listen()`. Throws UsageError on a
 * bad name, port or fault setting.
 */
export function createBackendServer(opts: BackendOptions = {}): BackendServer {
  const requestedPort = opts.port ?? 0;
  checkPort(requestedPort);
  if (opts.name !== undefined) checkBackendName(opts.name);
  const drainMs = opts.drainMs ?? DEFAULT_DRAIN_MS;
  const host = opts.host ?? '0.0.0.0';
  const faults: FaultSettings = { ...NO_FAULTS };
  if (opts.faults !== undefined) applyFaultPatch(faults, parseFaultPatch(opts.faults));
  const stats = new BackendStats();

  const state: BackendState = {
    name: '',
    port: 0,
    nameBody: Buffer.alloc(0),
    textHeaders: [],
    nameHeaders: [],
    stats,
    faults,
    random: opts.random ?? Math.random,
    hung: new Set(),
    closing: false,
    metrics: undefined,
    processMetrics: opts.processMetrics ?? false,
    capacity: createCapacityState(),
  };
  setIdentity(state, opts.name ?? `backend-${requestedPort}`, requestedPort);

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = routeOf(path);
    if (route >= ROUTE_STATS) {
      serveAdmin(state, route, path, url, req, res);
      return;
    }
    countTraffic(state, route);
    if (faultsActive(state)) serveWithFaults(state, route, path, req, res);
    else serveTraffic(state, route, path, req, res);
  };

  const server = http.createServer(onRequest);
  server.keepAliveTimeout = opts.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  const onSocketClose = (): void => {
    stats.connectionsOpen--;
  };
  server.on('connection', (socket: Socket) => {
    stats.connectionsOpen++;
    stats.connectionsTotal++;
    socket.once('close', onSocketClose);
  });

  let listening: Promise<number> | undefined;
  let closed: Promise<void> | undefined;

  const listen = (): Promise<number> => {
    listening ??= new Promise<number>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          new InvalidRunError(
            ErrorCode.BACKEND_LISTEN,
            `backend ${opts.name ?? `on port ${requestedPort}`} cannot listen on ${host}:${requestedPort}: ${err.code ?? err.message}`,
            {
              cause: err,
            },
          ),
        );
      };
      server.once('error', onError);
      server.listen(requestedPort, host, () => {
        server.off('error', onError);
        // A server error after listen (rare: EMFILE on accept) must not crash.
        server.on('error', () => {});
        const port = (server.address() as { port: number }).port;
        setIdentity(state, opts.name ?? `backend-${port}`, port);
        stats.startedAtMs = Date.now();
        resolve(port);
      });
    });
    return listening;
  };

  const close = (): Promise<void> => {
    if (closed) return closed;
    state.closing = true;
    if (!server.listening) {
      closed = Promise.resolve();
      return closed;
    }
    closed = new Promise<void>((resolve) => {
      // Connections that finish their last response stay open as idle
      // keep-alive ones; close them as they become idle rather than waiting
      // for keepAliveTimeout.
      const poll = setInterval(() => server.closeIdleConnections(), 20);
      const deadline = setTimeout(() => server.closeAllConnections(), drainMs);
      server.close(() => {
        clearInterval(poll);
        clearTimeout(deadline);
        // The server reports closed before its sockets emit 'close' (that
        // comes with the handle's close callback, a loop phase later); wait
        // for those so that connectionsOpen reads 0 once close() resolves.
        let spins = 0;
        const settle = (): void => {
          if (stats.connectionsOpen <= 0 || ++spins > 100) resolve();
          else setImmediate(settle);
        };
        settle();
      });
      for (const res of state.hung) res.destroy();
      state.hung.clear();
      server.closeIdleConnections();
    });
    return closed;
  };

  return {
    listen,
    close,
    stats,
    faults,
    get name() {
      return state.name;
    },
    get port() {
      return state.port;
    },
    setFaults(patch: unknown): FaultSettings {
      applyFaultPatch(faults, parseFaultPatch(patch));
      return faults;
    },
    reset(resetStats = false): void {
      applyFaultPatch(faults, NO_FAULTS);
      if (resetStats) stats.reset();
    },
  };
}
