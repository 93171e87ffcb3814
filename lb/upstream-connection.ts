/**
 * One keep-alive HTTP/1.1 connection to a backend: a plain `net.Socket` and
 * Node's own response parser (llhttp through `_http_common`, the parser
 * node:http's client uses, with its strict defaults: a response with both
 * Content-Length and Transfer-Encoding, or two different Content-Lengths,
 * is an error). One exchange at a time, no pipelining.
 *
 * Cheaper than a general client: the request head is one string written
 * once, response headers arrive as the parser's flat string array, and body
 * chunks go to the handler as the Buffers the parser cut. Timeouts use the
 * socket's own idle timer, re-armed per phase: connect, response headers,
 * gaps in the body, idle in the pool.
 */
import net from 'node:net';
// The parser node:http uses; public (listed in builtinModules) though undocumented. Node 20-24.
// Its declaration (http-common.d.ts) types every member as unknown, so each use states what it expects.
import { HTTPParser } from '_http_common';
import { ErrorCode } from '../common/error-codes.js';
import { invalidResponseHead } from './headers.js';

/** Largest upstream response head accepted, bytes; larger is a bad response (502). */
export const UPSTREAM_MAX_HEADER_BYTES = 65_536;

/** An error on the upstream side, with a stable code for classifyUpstreamError. */
export class UpstreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Receives one exchange's response. Calls end with onUpstreamEnd or onUpstreamError, once. */
export interface UpstreamHandler {
  /** The final (non-1xx) response head; `headers` is the flat [name, value, ...] list as received. */
  onUpstreamHeaders(status: number, statusText: string, headers: string[]): void;
  /** A body chunk; return false to pause the socket until `resumeBody`. */
  onUpstreamData(chunk: Buffer): boolean;
  /** The response is complete. */
  onUpstreamEnd(): void;
  /** The exchange failed (after onUpstreamHeaders or before). */
  onUpstreamError(err: Error): void;
  /** The socket drained after a write returned false (request body backpressure). */
  onUpstreamDrain(): void;
}

/** What a connection tells its pool. */
export interface ConnectionOwner {
  /** The connection finished an exchange and may be reused (`keepAliveMs` > 0) or not. */
  released(conn: UpstreamConnection, reusable: boolean): void;
  /** The socket closed; `err` says why when it was not a clean close. A
   * connection that never connected reports its connect failure here. */
  closed(conn: UpstreamConnection, wasConnected: boolean, err: Error | null): void;
  /** The socket connected (first time). */
  connected(conn: UpstreamConnection): void;
}

/** Timeouts of one connection, ms. */
export interface ConnectionTimeouts {
  connectMs: number;
  headersMs: number;
  bodyMs: number;
}

const enum Phase {
  Connecting,
  Idle,
  /** Request written (or being written), waiting for the response head. */
  AwaitHeaders,
  /** Response head forwarded, body in progress. */
  Body,
  /** The response is complete; the connection is released once the read
   * that completed it has been parsed whole (stray bytes make it unusable). */
  Complete,
  Closed,
}

const kOnHeaders = HTTPParser.kOnHeaders as number;
const kOnHeadersComplete = HTTPParser.kOnHeadersComplete as number;
const kOnBody = HTTPParser.kOnBody as number;
const kOnMessageComplete = HTTPParser.kOnMessageComplete as number;
const kOnMessageBegin = HTTPParser.kOnMessageBegin as number;
const kOnExecute = HTTPParser.kOnExecute as number;

interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  finish(): number | Error | undefined;
  close(): void;
  free(): void;
  conn: UpstreamConnection;
  [key: number]: unknown;
}

function noop(): void {}

/** The read buffer of every upstream socket of this process (see the constructor). */
const READ_BUFFER = Buffer.allocUnsafe(65_536);

let lastHint = '';
let lastHintMs = Infinity;

/** `timeout=N` of a Keep-Alive value, ms (Infinity without one). Backends
 * send the same value on every response: the last parse is kept. */
function keepAliveHintMs(value: string): number {
  if (value !== lastHint) {
    const m = /timeout\s*=\s*(\d+)/i.exec(value);
    lastHint = value;
    lastHintMs = m ? Number(m[1]) * 1000 : Infinity;
  }
  return lastHintMs;
}

function parserOnHeaders(this: Parser, headers: string[]): void {
  // Over 32 fields the parser hands the head over in parts.
  const c = this.conn;
  if (c.partialHeaders === null) c.partialHeaders = headers.slice();
  else for (const h of headers) c.partialHeaders.push(h);
}

function parserOnHeadersComplete(
  this: Parser,
  _major: number,
  _minor: number,
  headers: string[] | undefined,
  _method: unknown,
  _url: unknown,
  statusCode: number,
  statusMessage: string,
  upgrade: boolean,
  shouldKeepAlive: boolean,
): number {
  const c = this.conn;
  let all = headers;
  if (c.partialHeaders !== null) {
    all = headers === undefined ? c.partialHeaders : c.partialHeaders.concat(headers);
    c.partialHeaders = null;
  }
  return c.headersComplete(statusCode, statusMessage, all ?? [], upgrade, shouldKeepAlive);
}

function parserOnBody(this: Parser, chunk: Buffer): void {
  this.conn.body(chunk);
}

function parserOnMessageComplete(this: Parser): void {
  this.conn.messageComplete();
}

function parserOnMessageBegin(this: Parser): void {
  this.conn.messageBegin();
}

/** A connection to `host:port`; reports to `owner`. */
export class UpstreamConnection {
  readonly socket: net.Socket;
  /** Fields of a head delivered in parts (see parserOnHeaders). */
  partialHeaders: string[] | null = null;
  /** Reuse deadline from the backend's `Keep-Alive: timeout=N`, ms (or Infinity). */
  keepAliveHintMs = Infinity;
  private phase = Phase.Connecting;
  private handler: UpstreamHandler | null = null;
  private readonly parser: Parser;
  private skipBody = false;
  private interim = false;
  private keepAlive = true;
  /** The exchange's side allows reuse (request complete, pool keeps connections). */
  private reusable = false;
  /** Bytes came after the complete response (a body on a 204, a second response). */
  private stray = false;
  private wasConnected = false;
  private error: Error | null = null;

  constructor(
    private readonly owner: ConnectionOwner,
    host: string,
    port: number,
    private readonly timeouts: ConnectionTimeouts,
  ) {
    const parser = new HTTPParser() as Parser;
    parser.initialize(HTTPParser.RESPONSE as number, {}, UPSTREAM_MAX_HEADER_BYTES, HTTPParser.kLenientNone as number);
    parser.conn = this;
    parser[kOnHeaders] = parserOnHeaders;
    parser[kOnHeadersComplete] = parserOnHeadersComplete;
    parser[kOnBody] = parserOnBody;
    parser[kOnMessageComplete] = parserOnMessageComplete;
    parser[kOnMessageBegin] = parserOnMessageBegin;
    parser[kOnExecute] = noop;
    this.parser = parser;
    // Reads land in one buffer per process: the parser copies what it keeps
    // (body chunks), so no Buffer is allocated per read.
    const socket = net.connect({ host, port, noDelay: true, onread: { buffer: READ_BUFFER, callback: this.onRead } });
    this.socket = socket;
    socket.setTimeout(timeouts.connectMs);
    socket.on('connect', this.onConnect);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('timeout', this.onTimeout);
    socket.on('drain', this.onDrain);
  }

  /** Whether the socket is connected and no exchange runs on it. */
  get idle(): boolean {
    return this.phase === Phase.Idle;
  }

  /** Whether it is (still) connecting. */
  get connecting(): boolean {
    return this.phase === Phase.Connecting;
  }

  /** Idle time allowed in the pool before closing, ms (set by the pool on release). */
  idleTimeout(ms: number): void {
    this.socket.setTimeout(ms);
  }

  /**
   * Starts an exchange by writing the request head. `skipBody`: the
   * response has no body (HEAD). `reusable`: the request is complete as
   * written and the connection may serve another afterwards (a request with
   * a body says so later, with requestComplete). The connection must be
   * idle. Returns socket.write's result.
   */
  begin(handler: UpstreamHandler, head: string, skipBody: boolean, reusable: boolean): boolean {
    this.handler = handler;
    this.phase = Phase.AwaitHeaders;
    this.skipBody = skipBody;
    this.reusable = reusable;
    this.stray = false;
    this.socket.setTimeout(this.timeouts.headersMs);
    return this.socket.write(head, 'latin1');
  }

  /** The request body was written whole; `reusable` as for begin. */
  requestComplete(reusable: boolean): void {
    this.reusable = reusable;
  }

  /** Writes request body bytes; false: wait for onUpstreamDrain. */
  write(data: Buffer | string): boolean {
    return this.socket.write(data as Buffer);
  }

  /** Pauses reading the response (client backpressure). */
  pause(): void {
    this.socket.pause();
  }

  /** Resumes reading the response. */
  resume(): void {
    this.socket.resume();
  }

  /** Closes the connection at once; the running exchange (if any) gets no more callbacks. */
  destroy(): void {
    this.handler = null;
    this.socket.destroy();
  }

  /** @internal parser callback */
  headersComplete(status: number, statusText: string, headers: string[], upgrade: boolean, shouldKeepAlive: boolean): number {
    const handler = this.handler;
    if (this.error !== null) return 1;
    if (handler === null || this.phase !== Phase.AwaitHeaders) {
      // Bytes nobody asked for (an idle socket talking): unusable.
      this.fail(new UpstreamError(ErrorCode.UPSTREAM_UNSOLICITED, 'backend sent a response with no request'));
      return 1;
    }
    const bad = invalidResponseHead(statusText, headers);
    if (bad !== null) {
      this.fail(new UpstreamError(ErrorCode.INVALID_RESPONSE_HEAD, `backend response ${status} has ${bad}`));
      return 1;
    }
    if (status < 200 && !upgrade) {
      // 100 Continue, 103 Early Hints: the final response follows on the same socket.
      this.interim = true;
      return 1;
    }
    if (upgrade) {
      this.fail(new UpstreamError('HPE_UPGRADE_UNSUPPORTED', `backend answered ${status} (protocol upgrade), which this proxy does not forward`));
      return 1;
    }
    this.keepAlive = shouldKeepAlive;
    this.keepAliveHintMs = Infinity;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i] ?? '';
      const n = name.length;
      if (n === 10 && name.toLowerCase() === 'keep-alive') this.keepAliveHintMs = keepAliveHintMs(headers[i + 1] ?? '');
      // A 204 has no body whatever it says; one that announces a body may
      // well send it, and those bytes would be read as the next response.
      else if (status === 204 && ((n === 14 && name.toLowerCase() === 'content-length') || (n === 17 && name.toLowerCase() === 'transfer-encoding')))
        this.keepAlive = false;
    }
    this.phase = Phase.Body;
    this.socket.setTimeout(this.timeouts.bodyMs);
    handler.onUpstreamHeaders(status, statusText, headers);
    return this.skipBody ? 1 : 0;
  }

  /** @internal parser callback */
  body(chunk: Buffer): void {
    const handler = this.handler;
    if (handler === null || this.error !== null) return;
    if (!handler.onUpstreamData(chunk)) this.socket.pause();
  }

  /** @internal parser callback */
  messageComplete(): void {
    // Trailer fields of a chunked body arrive like header parts: not forwarded.
    this.partialHeaders = null;
    if (this.interim) {
      this.interim = false;
      return;
    }
    if (this.handler === null || this.phase !== Phase.Body || this.error !== null) return;
    // Released after the rest of this read is parsed (onRead): handing the
    // socket on now would let bytes after the response (a 204's body, a
    // smuggled second response) be read as the next request's answer.
    this.phase = Phase.Complete;
  }

  /** @internal parser callback: the start of a message. */
  messageBegin(): void {
    if (this.phase === Phase.Complete) this.stray = true;
  }

  /** Ends the completed exchange: the handler gets onUpstreamEnd, the pool the connection (reusable unless `dirty`). */
  private complete(dirty: boolean): void {
    const handler = this.handler;
    this.handler = null;
    this.phase = Phase.Idle;
    const reusable = !dirty && !this.stray && this.error === null && this.keepAlive && this.reusable;
    // The last chunk may have paused it (client backpressure): an idle socket
    // must read, to see the backend's close, and the next exchange needs it.
    if (reusable) this.socket.resume();
    this.owner.released(this, reusable);
    handler?.onUpstreamEnd();
  }

  private readonly onConnect = (): void => {
    this.wasConnected = true;
    this.phase = Phase.Idle;
    this.owner.connected(this);
  };

  private readonly onRead = (nread: number, buf: Uint8Array): boolean => {
    const ret = this.parser.execute((buf as Buffer).subarray(0, nread));
    if (this.phase === Phase.Complete) {
      // The response is whole; anything after it in this read spoils only the connection.
      this.complete(ret instanceof Error);
      return true;
    }
    if (ret instanceof Error) {
      const code = (ret as { code?: string }).code ?? 'HPE_INVALID';
      this.fail(new UpstreamError(code, `malformed backend response: ${ret.message}`, { cause: ret }));
    }
    // Keep reading; backpressure pauses the socket itself (body()).
    return true;
  };

  private readonly onEnd = (): void => {
    // A body delimited by the connection's end completes here.
    if (this.phase === Phase.Body) {
      const ret = this.parser.finish();
      // finish() may complete the message (messageComplete changes the phase).
      if ((this.phase as Phase) === Phase.Complete) this.complete(true);
      else if (ret instanceof Error)
        this.fail(new UpstreamError((ret as { code?: string }).code ?? 'HPE_INVALID', `malformed backend response: ${ret.message}`));
    }
    this.socket.destroy();
  };

  private readonly onError = (err: Error): void => {
    this.error = err;
  };

  private readonly onTimeout = (): void => {
    switch (this.phase) {
      case Phase.Connecting:
        this.fail(new UpstreamError(ErrorCode.CONNECT_TIMEOUT, `connect timed out after ${this.timeouts.connectMs}ms`));
        return;
      case Phase.AwaitHeaders:
        this.fail(new UpstreamError(ErrorCode.HEADERS_TIMEOUT, `no response head within ${this.timeouts.headersMs}ms`));
        return;
      case Phase.Body:
      case Phase.Complete:
        this.fail(new UpstreamError(ErrorCode.BODY_TIMEOUT, `no body bytes for ${this.timeouts.bodyMs}ms`));
        return;
      default:
        // Idle too long in the pool.
        this.socket.destroy();
    }
  };

  private readonly onDrain = (): void => {
    this.handler?.onUpstreamDrain();
  };

  private readonly onClose = (): void => {
    const handler = this.handler;
    this.handler = null;
    const was = this.phase;
    this.phase = Phase.Closed;
    this.parser.close();
    let err = this.error;
    if (err === null && was === Phase.Connecting) err = new UpstreamError('ECONNRESET', 'connection closed while connecting');
    if (err === null && handler !== null) err = new UpstreamError(ErrorCode.UPSTREAM_CLOSED, 'backend closed the connection before the response was complete');
    this.owner.closed(this, this.wasConnected, err);
    if (handler !== null) handler.onUpstreamError(err ?? new UpstreamError(ErrorCode.UPSTREAM_CLOSED, 'backend closed the connection'));
  };

  /** Ends the running exchange (if any) with `err` and closes the socket. */
  abort(err: Error): void {
    this.fail(err);
  }

  private fail(err: Error): void {
    if (this.phase === Phase.Closed) return;
    this.error = err;
    this.socket.destroy();
  }
}
