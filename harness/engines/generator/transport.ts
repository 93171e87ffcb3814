/**
 * The connection abstraction the generator drives. A transport knows how to
 * hold one keep-alive HTTP/1.1 connection and send the run's one prepared
 * request on it; the generator owns all timing and bookkeeping.
 *
 * Life of a connection: `connect()` → `onOpen` (idle) → `send()` →
 * `onResponse` (idle again) ... Any failure ends it: `onRequestFailed` (a
 * request was in flight) or `onConnectFailed` (never opened), then exactly
 * one `onClosed`. A closed connection is never reused; the generator makes a
 * new one in its slot.
 */
import type { ParsedResponse } from './response-parser.js';

/** Why an in-flight request failed. `timeout` is raised by the generator via `abort`. */
export type RequestFailure = 'reset' | 'parse' | 'timeout';

export interface ConnectionEvents {
  /** The connection is open and idle. */
  onOpen(conn: Connection): void;
  /** The in-flight request's response is complete. If `r.close`, the
   * connection closes next (onClosed follows) and must not be reused. */
  onResponse(conn: Connection, r: ParsedResponse): void;
  onRequestFailed(conn: Connection, kind: RequestFailure, err?: unknown): void;
  onConnectFailed(conn: Connection, err: unknown): void;
  /** Always the last event of a connection. */
  onClosed(conn: Connection): void;
}

export interface Connection {
  /** Slot index in the generator (0 .. connections-1). */
  readonly slot: number;
  /** Opens the connection. Called once. */
  connect(): void;
  /** Sends the prepared request; only while open and idle. */
  send(): void;
  /** Tears the connection down. With `kind`, an in-flight request is
   * reported failed with that kind; onClosed always follows. */
  abort(kind?: RequestFailure): void;
}

/** What every connection of a run sends. */
export interface RequestTemplate {
  host: string;
  port: number;
  /** Path with query, e.g. `/echo?x=1`. */
  path: string;
  method: string;
  /** Headers as given (Host and Content-Length are added by transports). */
  headers: Record<string, string>;
  body?: string;
}

export type ConnectionFactory = (slot: number, localAddress: string | undefined, events: ConnectionEvents) => Connection;
