/**
 * Plain-number counters of one backend. The request path only increments
 * fields; `/stats` and `/metrics` read them. No allocation per request.
 */
import type { FaultSettings } from './options.js';

/** Path families counted separately. `admin` is `/stats`, `/metrics` and
 * `/control`, which are not part of `total` so that polling them does not
 * change what is measured. */
export type RequestFamily = 'echo' | 'bytes' | 'delay' | 'status' | 'health' | 'notFound' | 'admin';

/** Faults counted when injected. */
export type FaultKind = 'latency' | 'error' | 'close' | 'hang';

/** Counters, by family. */
export interface FamilyCounts {
  echo: number;
  bytes: number;
  delay: number;
  status: number;
  health: number;
  notFound: number;
  admin: number;
}

/** Injected faults, by kind. */
export interface FaultCounts {
  latency: number;
  error: number;
  close: number;
  hang: number;
}

/** The JSON body of `GET /stats`. */
export interface BackendStatsSnapshot {
  name: string;
  /** Port actually bound. */
  port: number;
  pid: number;
  /** Time since the server started listening (or since the last stats reset), ms. */
  uptimeMs: number;
  requests: {
    /** Every request except `admin` ones. */
    total: number;
    byFamily: FamilyCounts;
  };
  /** Body bytes: `in` read from echo requests, `out` handed to the socket. */
  bytes: { in: number; out: number };
  faultsInjected: FaultCounts;
  /** Responses the `closeRate` fault cut mid-body, by request method
   * (`/health` not counted: health checks are not client traffic). Lets a
   * harness tell a failure the backend caused from one the proxy caused. */
  cutsByMethod: Record<string, number>;
  /** Client connections: open now, and accepted since start. */
  connections: { open: number; total: number };
  /** Current fault settings. */
  faults: FaultSettings;
}

/** Mutable counters; increment fields directly. */
export class BackendStats {
  /** Requests except `admin` ones. */
  requestsTotal = 0;
  readonly byFamily: FamilyCounts = { echo: 0, bytes: 0, delay: 0, status: 0, health: 0, notFound: 0, admin: 0 };
  /** Request body bytes read by `/echo`. */
  bytesIn = 0;
  /** Response body bytes handed to the socket (a client that goes away early
   * may have received fewer). */
  bytesOut = 0;
  readonly faultsInjected: FaultCounts = { latency: 0, error: 0, close: 0, hang: 0 };
  /** See BackendStatsSnapshot.cutsByMethod. */
  cutsByMethod: Record<string, number> = {};
  /** Open client connections. Not reset by `reset()`. */
  connectionsOpen = 0;
  /** Client connections accepted. */
  connectionsTotal = 0;
  /** Start of the counting period, `Date.now()` ms. */
  startedAtMs = Date.now();

  /** Zeroes every counter and restarts uptime. `connectionsOpen` is kept,
   * and `connectionsTotal` restarts from it (open connections count as
   * accepted in the new period). */
  reset(): void {
    this.requestsTotal = 0;
    for (const k of Object.keys(this.byFamily) as RequestFamily[]) this.byFamily[k] = 0;
    this.bytesIn = 0;
    this.bytesOut = 0;
    for (const k of Object.keys(this.faultsInjected) as FaultKind[]) this.faultsInjected[k] = 0;
    this.cutsByMethod = {};
    this.connectionsTotal = this.connectionsOpen;
    this.startedAtMs = Date.now();
  }

  /** A JSON-ready copy. */
  snapshot(name: string, port: number, faults: FaultSettings): BackendStatsSnapshot {
    return {
      name,
      port,
      pid: process.pid,
      uptimeMs: Date.now() - this.startedAtMs,
      requests: { total: this.requestsTotal, byFamily: { ...this.byFamily } },
      bytes: { in: this.bytesIn, out: this.bytesOut },
      faultsInjected: { ...this.faultsInjected },
      cutsByMethod: { ...this.cutsByMethod },
      connections: { open: this.connectionsOpen, total: this.connectionsTotal },
      faults: { ...faults },
    };
  }
}
