import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { LbbenchError } from '../../common/errors.js';
import { ExitCode } from '../../common/exit-codes.js';
import { ErrorCode } from '../../common/error-codes.js';

/** One backend to check. */
export interface ActiveCheckTarget {
  /** `http://host:port` origin; the check goes to `<url><path>`. */
  readonly url: string;
}

/** Settings of the active checker (the `lb.health.active` keys it uses). */
export interface ActiveCheckOptions {
  /** Path of the HTTP GET, starting with `/`. Default in config: `/health`. */
  readonly path: string;
  /** Time from the start of one check of a backend to the start of the next, ms.
   * A check that runs longer delays the next; checks of one backend never
   * overlap. Default in config: 250. */
  readonly intervalMs: number;
  /** A check without response headers after this long fails, ms. Default in config: 500. */
  readonly timeoutMs: number;
  /** Monotonic clock in ms; injected for tests. Default `performance.now`. */
  readonly now?: () => number;
}

/**
 * Receives every check result. `detail` is a short reason: `status 200`,
 * `status 503`, `connect ECONNREFUSED`, `timeout after 500ms`,
 * `read ECONNRESET`.
 */
export type CheckResultListener = (index: number, ok: boolean, detail: string) => void;

/** Per-backend state; `req` set while a check is in flight, `timer` while one is scheduled. */
interface Slot {
  readonly index: number;
  readonly hostname: string;
  readonly port: number;
  readonly hostHeader: string;
  timer: NodeJS.Timeout | undefined;
  req: http.ClientRequest | undefined;
}

/**
 * Periodic HTTP GET checks, one independent loop per backend. Each check
 * opens a fresh connection (`agent: false`, `Connection: close`), so a dead
 * listener shows up as refused at once rather than hiding behind a pooled
 * socket, as HAProxy's checks do. 2xx and 3xx pass; anything else fails.
 * The first round starts at `start()`.
 */
export class ActiveChecker {
  private readonly slots: Slot[];
  private readonly options: ActiveCheckOptions;
  private readonly onResult: CheckResultListener;
  private readonly now: () => number;
  /** Bumped by start/stop; a check reports only if its generation is current,
   * so nothing reports after stop() even if a socket event is already queued. */
  private generation = 0;
  private isRunning = false;

  /** @throws LbbenchError `LBB_ERR_BAD_BACKEND` for a URL that is not `http://host:port`. */
  constructor(targets: readonly ActiveCheckTarget[], options: ActiveCheckOptions, onResult: CheckResultListener) {
    this.options = options;
    this.onResult = onResult;
    this.now = options.now ?? (() => performance.now());
    this.slots = targets.map((t, index) => {
      let u: URL;
      try {
        u = new URL(t.url);
      } catch (cause) {
        throw new LbbenchError(ErrorCode.BAD_BACKEND, `health check target ${JSON.stringify(t.url)} is not a URL`, {
          cause,
          exitCode: ExitCode.BAD_INPUT,
        });
      }
      // URL keeps IPv6 brackets in hostname; net.connect wants them off.
      const hostname = u.hostname.replace(/^\[(.*)\]$/, '$1');
      return { index, hostname, port: Number(u.port || 80), hostHeader: u.host, timer: undefined, req: undefined };
    });
  }

  /** True between start() and stop(). */
  get running(): boolean {
    return this.isRunning;
  }

  /** Starts checking every backend now. No-op when already running. */
  start(): void {
    if (this.isRunning) return;
    this.isRunning = true;
    this.generation++;
    for (const slot of this.slots) this.runCheck(slot, this.generation);
  }

  /** Clears every timer and destroys in-flight check sockets; no result is
   * reported after this returns. start() may be called again later. */
  stop(): void {
    if (!this.isRunning) return;
    this.isRunning = false;
    this.generation++;
    for (const slot of this.slots) {
      clearTimeout(slot.timer);
      slot.timer = undefined;
      const req = slot.req;
      slot.req = undefined;
      req?.destroy();
    }
  }

  private runCheck(slot: Slot, gen: number): void {
    slot.timer = undefined;
    const startedAt = this.now();
    const { timeoutMs } = this.options;
    let reported = false;
    let connected = false;
    const report = (ok: boolean, detail: string): void => {
      if (reported) return;
      reported = true;
      if (gen === this.generation) this.onResult(slot.index, ok, detail);
    };

    let req: http.ClientRequest;
    try {
      req = http.request({
        hostname: slot.hostname,
        port: slot.port,
        path: this.options.path,
        method: 'GET',
        agent: false,
        headers: { host: slot.hostHeader, connection: 'close', 'user-agent': 'lbbench-health-check' },
      });
    } catch (err) {
      report(false, `request ${errorCode(err)}`);
      this.scheduleNext(slot, gen, startedAt);
      return;
    }
    slot.req = req;
    // Bounds the whole exchange; after the status is known it only stops a
    // body that never ends from holding the socket (and the next check).
    const timer = setTimeout(() => {
      report(false, `timeout after ${timeoutMs}ms`);
      req.destroy();
    }, timeoutMs);

    req.on('socket', (socket) => {
      socket.setNoDelay(true);
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      report(status >= 200 && status < 400, `status ${status}`);
      res.on('error', () => {});
      res.resume();
    });
    req.on('error', (err) => report(false, `${connected ? 'read' : 'connect'} ${errorCode(err)}`));
    req.on('close', () => {
      clearTimeout(timer);
      report(false, 'closed without response');
      if (slot.req === req) slot.req = undefined;
      this.scheduleNext(slot, gen, startedAt);
    });
    req.end();
  }

  private scheduleNext(slot: Slot, gen: number, startedAt: number): void {
    if (gen !== this.generation) return;
    const delayMs = Math.max(0, startedAt + this.options.intervalMs - this.now());
    slot.timer = setTimeout(() => this.runCheck(slot, gen), delayMs);
  }
}

function errorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const message = (err as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  }
  return String(err);
}
