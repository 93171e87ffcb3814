/**
 * One client connection of the balancer: a plain `net.Socket` and Node's own
 * request parser (llhttp through `_http_common`, strict: CL+TE, duplicate or
 * conflicting Content-Length, NUL, obs-fold and bad bytes are errors), one
 * parser per connection, reused for every request on it. It is both sides of
 * the current request for its exchange (exchange.ts): the request's method,
 * target, raw headers and body, and the response's head and body.
 *
 * - Requests are served one at a time, in order. A pipelined request's head
 *   is parsed and held (the parser pauses on it, the socket stops reading)
 *   until the response before it is complete.
 * - Keep-alive follows HTTP/1.1 and 1.0 rules (llhttp's keep-alive flag);
 *   the connection also closes after a response when the request body was
 *   not read whole, or during drain. A half-close by the client aborts the
 *   request in progress (as node:http and nginx do).
 * - The response head is one string, held until the first body chunk and
 *   written with it: one write (a small chunk joins the string; a large one
 *   goes corked, one writev). A response without a length goes chunked to an
 *   HTTP/1.1 keep-alive client and close-delimited to anyone else (never
 *   chunked to HTTP/1.0). A Date field is added when the backend sent none.
 * - Backpressure both ways: the body is delivered only while the exchange
 *   reads it (else the socket pauses, at most one read is held); `write`
 *   returns socket.write's result and `drained()` follows on 'drain'.
 * - Refusals (error-status.ts, ClientRefusal) are one pre-built response
 *   with `Connection: close`, then a lingering close: input is read and
 *   dropped for up to LINGER_MS so the client reads the answer before it
 *   could be reset.
 * - Timeouts (idle keep-alive, request head) are checked by the owning
 *   ClientConnections' sweep, from timestamps this object keeps: no timer
 *   per connection or request.
 */
import type net from 'node:net';
import { STATUS_CODES } from 'node:http';
// The parser node:http uses; see upstream-connection.ts.
import { HTTPParser, methods as parserMethods } from '_http_common';
import { ClientRefusal, classifyClientError, rawErrorResponse, type ClientFailure } from './error-status.js';
import { errorIndexOf, type WorkerCounters } from './metrics/worker-counters.js';

/** What the connection calls on the exchange serving its current request. */
export interface ClientExchange {
  /** A body chunk (only between `resume()` and `pause()`). */
  onBodyData(chunk: Buffer): void;
  /** The body is complete (after its last chunk, only while resumed). */
  onBodyEnd(): void;
  /** The body can never complete (the client half-closed or sent a malformed body). */
  onBodyAbort(): void;
  /** The client closed before the response was complete. */
  clientGone(): void;
  /** The balancer refused the request mid-body (413): stop, uncounted as a client abort. */
  requestRefused(): void;
  /** The socket drained after `write` returned false. */
  drained(): void;
}

/** The request side, as an exchange sees it. */
export interface ClientRequest {
  /** Method, upper case as sent. */
  readonly method: string;
  /** Target in origin form (an absolute-form target is rewritten, its authority becomes Host). */
  readonly url: string;
  /** Fields as received, flat [name, value, ...]. */
  readonly rawHeaders: readonly string[];
  /** The client's address ('' when unknown). */
  readonly remoteAddress: string;
  /** Stops delivering the body (socket backpressure). */
  pause(): void;
  /** Delivers the body to the exchange (held chunks first, then the end). */
  resume(): void;
}

/** The response side, as an exchange sees it. */
export interface ClientResponse {
  /** The exchange the connection reports to. */
  exchange: ClientExchange | null;
  /** Whether the connection may serve another request after this response; set false to close after it. */
  shouldKeepAlive: boolean;
  /** The response head was written. */
  readonly headersSent: boolean;
  /** Writes the head once: `headers` flat [name, value, ...]; `reason` defaults to the standard phrase. */
  writeHead(status: number, reason: string | undefined, headers: readonly string[]): void;
  /** Writes body bytes; false: wait for `drained()`. Ignored for a response without a body (HEAD, 204, 304). */
  write(chunk: Buffer): boolean;
  /** Ends the response (after `body`, if given). */
  end(body?: Buffer): void;
  /** Cuts the connection (a response that cannot be completed). */
  destroy(): void;
}

/** The client-side timeouts the sweep applies (lb.timeouts), ms. */
export interface ClientTimeouts {
  /** Idle keep-alive connection (clientIdleMs). */
  readonly idleMs: number;
  /** Request head, from its first byte (and a fresh connection's first byte) (clientHeadersMs). */
  readonly headersMs: number;
  /** Gap between request body reads while the body is read (clientBodyMs). */
  readonly bodyMs: number;
  /** Time response bytes may wait untaken by the client (clientSendMs). */
  readonly sendMs: number;
}

/** What a connection needs from its owner (client-server.ts). */
export interface ConnectionHost {
  readonly counters: WorkerCounters;
  /** Set during drain: every response closes its connection. */
  readonly draining: boolean;
  readonly maxHeaderBytes: number;
  readonly maxBodyBytes: number;
  /** A request head is complete: start its exchange. */
  handleRequest(client: ClientConnection): void;
  /** The socket closed. */
  closed(client: ClientConnection): void;
}

/** Time a refused or closing connection keeps reading (and dropping) input, ms. */
export const LINGER_MS = 2_000;

const enum Phase {
  /** Between requests (or before the first): no byte of a request yet. */
  Idle,
  /** Bytes of a request head arrived; head not complete. */
  Head,
  /** A request is being served; its response is not complete. */
  Active,
  /** Ending: the last response is written (or a refusal); input is dropped. */
  Closing,
  Closed,
}

/** llhttp's pause code, returned from kOnHeadersComplete to hold a pipelined head. */
const HPE_PAUSED = 21;

const kOnHeaders = HTTPParser.kOnHeaders as number;
const kOnHeadersComplete = HTTPParser.kOnHeadersComplete as number;
const kOnBody = HTTPParser.kOnBody as number;
const kOnMessageComplete = HTTPParser.kOnMessageComplete as number;
const kOnMessageBegin = HTTPParser.kOnMessageBegin as number;
const kOnExecute = HTTPParser.kOnExecute as number;
const METHODS = parserMethods as readonly string[];

interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | (Error & { code?: string; bytesParsed?: number });
  resume(): void;
  close(): void;
  conn: ClientConnection | null;
  [key: number]: unknown;
}

/** A request head parsed while the response before it was still running. */
interface HeldHead {
  minor: number;
  headers: string[];
  method: string;
  url: string;
  upgrade: boolean;
  keepAlive: boolean;
}

function noop(): void {}

function parserOnMessageBegin(this: Parser): void {
  this.conn?.messageBegin();
}

function parserOnHeaders(this: Parser, headers: string[], url: string): void {
  // Over 32 fields (or a long target) the parser hands the head over in parts.
  const c = this.conn;
  if (c === null) return;
  if (c.partialHeaders === null) c.partialHeaders = headers.slice();
  else for (const h of headers) c.partialHeaders.push(h);
  c.partialUrl += url;
}

function parserOnHeadersComplete(
  this: Parser,
  major: number,
  minor: number,
  headers: string[] | undefined,
  method: number,
  url: string | undefined,
  _statusCode: unknown,
  _statusMessage: unknown,
  upgrade: boolean,
  keepAlive: boolean,
): number {
  const c = this.conn;
  if (c === null) return 1;
  let all = headers;
  if (c.partialHeaders !== null) {
    all = headers === undefined ? c.partialHeaders : c.partialHeaders.concat(headers);
    c.partialHeaders = null;
  }
  let target = url;
  if (c.partialUrl !== '') {
    target = c.partialUrl + (url ?? '');
    c.partialUrl = '';
  }
  return c.headersComplete(major, minor, all ?? [], METHODS[method] ?? '', target ?? '', upgrade, keepAlive);
}

function parserOnBody(this: Parser, chunk: Buffer): void {
  this.conn?.body(chunk);
}

function parserOnMessageComplete(this: Parser): void {
  this.conn?.messageComplete();
}

/** The async resource every parser reports (one object, not one per initialize). */
const PARSER_RESOURCE = {};

/**
 * Parsers not in use, reused (initialize resets them). A connection holds
 * one only from the first byte of a request until it is idle again, so an
 * idle keep-alive connection costs no parser (about 2 KB of native memory).
 */
const freeParsers: Parser[] = [];
const MAX_FREE_PARSERS = 1_000;
let parsersInUse = 0;

/** Request parsers held by client connections of this process now (idle connections hold none). */
export function clientParsersInUse(): number {
  return parsersInUse;
}

function allocParser(conn: ClientConnection, maxHeaderBytes: number): Parser {
  let parser = freeParsers.pop();
  if (parser === undefined) {
    parser = new HTTPParser() as Parser;
    parser[kOnMessageBegin] = parserOnMessageBegin;
    parser[kOnHeaders] = parserOnHeaders;
    parser[kOnHeadersComplete] = parserOnHeadersComplete;
    parser[kOnBody] = parserOnBody;
    parser[kOnMessageComplete] = parserOnMessageComplete;
    parser[kOnExecute] = noop;
  }
  parser.initialize(HTTPParser.REQUEST as number, PARSER_RESOURCE, maxHeaderBytes, HTTPParser.kLenientNone as number);
  parser.conn = conn;
  parsersInUse++;
  return parser;
}

function freeParser(parser: Parser): void {
  parsersInUse--;
  parser.conn = null;
  if (freeParsers.length < MAX_FREE_PARSERS) freeParsers.push(parser);
  else parser.close();
}

let dateSecond = -1;
let dateValue = '';

/** The IMF-fixdate of now, cached per second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

/** Largest first body chunk sent in one string with the head, bytes. */
const INLINE_BODY_BYTES = 4_096;

const NO_HEADERS: readonly string[] = Object.freeze([]);
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

function onSocketData(this: net.Socket & { client: ClientConnection }, chunk: Buffer): void {
  this.client.data(chunk);
}
function onSocketEnd(this: net.Socket & { client: ClientConnection }): void {
  this.client.peerEnd();
}
function onSocketDrain(this: net.Socket & { client: ClientConnection }): void {
  this.client.socketDrained();
}
function onSocketClose(this: net.Socket & { client: ClientConnection }): void {
  this.client.socketClosed();
}

/** One client socket and the request it is serving. */
export class ClientConnection implements ClientRequest, ClientResponse {
  readonly socket: net.Socket;
  readonly remoteAddress: string;
  /** Fields and target of a head delivered in parts (see parserOnHeaders). */
  partialHeaders: string[] | null = null;
  partialUrl = '';
  /** @internal when the current phase began (Date.now()) */
  sinceMs: number;
  exchange: ClientExchange | null = null;
  shouldKeepAlive = true;
  headersSent = false;
  method = '';
  url = '';
  rawHeaders: readonly string[] = NO_HEADERS;
  private phase = Phase.Idle;
  /** Held while a request is read or served (see freeParsers); null while idle. */
  private parser: Parser | null = null;
  /** Inside parser.execute (the parser must not be given back from its own callback). */
  private executing = false;
  /** No request was read yet (the idle limit is the head timeout then). */
  private fresh = true;
  private minor = 1;
  /** The request allows keep-alive (version and Connection field). */
  private requestKeepAlive = true;
  /** The request's body is complete (or it has none). */
  private requestComplete = false;
  /** The request has a body (Content-Length > 0 or chunked). */
  private requestHasBody = false;
  /** The response ended inside the request's head callback: go on when the (bodiless) request completes. */
  private doneBeforeComplete = false;
  /** The body may be delivered to the exchange. */
  private flowing = false;
  /** The end of the body still has to be delivered to the exchange. */
  private endPending = false;
  /** Body chunks held while not flowing. */
  private held: Buffer[] | null = null;
  private bodyBytes = 0;
  /** When the body was last read, or its reading (re)started (Date.now()). */
  private lastBodyReadMs = 0;
  /** The response has no body (HEAD, 204, 304). */
  private noBody = false;
  /** Response bytes the client had not taken at the last sweep (socket.writableLength; 0: none). */
  private unsentBytes = 0;
  /** When the client last took response bytes, or they began to wait (Date.now()). */
  private sendProgressMs = 0;
  /** 'drain' since the last sweep: the client took every byte that waited. */
  private drainedSinceSweep = false;
  private chunkedOut = false;
  /** The response head, held until the first body bytes or the end: one write for both. */
  private pendingHead: string | null = null;
  /** After an upgrade request or a `Connection: close` request: input past it is not HTTP to us. */
  private opaque = false;
  /** A pipelined head waiting for the current response. */
  private heldHead: HeldHead | null = null;
  /** Unparsed bytes after the held head. */
  private rest: Buffer | null = null;
  /** A refusal for bytes after the current (complete) request, sent after its response. */
  private deferredRefusal: ClientFailure | null = null;

  constructor(
    private readonly host: ConnectionHost,
    socket: net.Socket,
  ) {
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.sinceMs = Date.now();
    (socket as net.Socket & { client: ClientConnection }).client = this;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('drain', onSocketDrain);
    socket.on('error', noop);
    socket.on('close', onSocketClose);
  }

  /** Idle between requests (drain closes these). */
  get idle(): boolean {
    return this.phase === Phase.Idle;
  }

  /**
   * Applies `timeouts` at `nowMs` (called by the sweep): an idle connection
   * past `idleMs` (or `headersMs` before its first request) is closed
   * silently, a request head not complete within `headersMs` gets 408, a
   * request body with no byte for `bodyMs` while it is read gets 408 (or a
   * cut once the response has begun), a lingering close past LINGER_MS is
   * cut, and a response whose bytes wait untaken by the client for `sendMs`
   * is cut (the idle and linger clocks start once the output is flushed).
   * Returns whether it closed or refused the connection (the sweep bounds
   * how many it does a tick).
   */
  checkTimeouts(nowMs: number, timeouts: ClientTimeouts): boolean {
    if (this.phase !== Phase.Head && this.phase !== Phase.Closed && this.sendStalled(nowMs, timeouts.sendMs)) {
      this.stopExchange(ClientRefusal.sendTimeout);
      this.socket.destroy();
      return true;
    }
    const age = nowMs - this.sinceMs;
    switch (this.phase) {
      case Phase.Idle:
        // Still flushing its last response: not idle yet.
        if (this.unsentBytes > 0) return false;
        if (age < (this.fresh ? timeouts.headersMs : timeouts.idleMs)) return false;
        this.socket.destroy();
        return true;
      case Phase.Head:
        if (age < timeouts.headersMs) return false;
        this.refuse(ClientRefusal.headersTimeout);
        return true;
      case Phase.Active:
        // Only while the balancer reads the body: held input or a paused
        // socket is the backend's pace, not the client's.
        if (!this.requestHasBody || this.requestComplete || !this.flowing || this.held !== null) return false;
        if (nowMs - this.lastBodyReadMs < timeouts.bodyMs) return false;
        this.refuse(ClientRefusal.bodyTimeout);
        return true;
      case Phase.Closing:
        // The linger starts once the last response (or refusal) is flushed.
        if (this.unsentBytes > 0 || age < LINGER_MS) return false;
        this.socket.destroy();
        return true;
      default:
        return false;
    }
  }

  /**
   * Whether response bytes have waited untaken for `sendMs` (nginx's
   * send_timeout). Progress is a 'drain' or fewer bytes waiting than at the
   * last sweep (more can only be added after a drain: the exchange waits for
   * one when a write returns false). When the wait ends on an idle or
   * closing connection, its idle or linger clock starts then.
   */
  private sendStalled(nowMs: number, sendMs: number): boolean {
    const pending = this.socket.writableLength;
    const drained = this.drainedSinceSweep;
    this.drainedSinceSweep = false;
    if (pending === 0) {
      if (this.unsentBytes > 0 && (this.phase === Phase.Idle || this.phase === Phase.Closing)) this.sinceMs = nowMs;
      this.unsentBytes = 0;
      return false;
    }
    if (this.unsentBytes === 0 || drained || pending < this.unsentBytes) this.sendProgressMs = nowMs;
    this.unsentBytes = pending;
    return nowMs - this.sendProgressMs >= sendMs;
  }

  // ---- request side -----------------------------------------------------

  pause(): void {
    this.flowing = false;
  }

  resume(): void {
    if (this.phase !== Phase.Active) return;
    if (!this.flowing) this.lastBodyReadMs = Date.now();
    this.flowing = true;
    const held = this.held;
    if (held !== null) {
      this.held = null;
      for (let i = 0; i < held.length; i++) {
        const chunk = held[i];
        if (chunk === undefined) continue;
        if (!this.flowing || this.exchange === null) {
          // Paused again while delivering: keep the rest.
          this.held = held.slice(i);
          return;
        }
        this.exchange.onBodyData(chunk);
      }
    }
    if (this.endPending && this.flowing && this.exchange !== null) {
      this.endPending = false;
      this.exchange.onBodyEnd();
    }
    if (this.flowing && this.rest === null) this.socket.resume();
  }

  // ---- response side ----------------------------------------------------

  writeHead(status: number, reason: string | undefined, headers: readonly string[]): void {
    if (this.headersSent || this.phase !== Phase.Active) return;
    this.headersSent = true;
    const noBody = this.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    this.noBody = noBody;
    let head = `HTTP/1.1 ${status} ${reason ?? STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    let hasLength = false;
    let hasDate = false;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i] ?? '';
      if (name.length === 14 && !hasLength) hasLength = name.toLowerCase() === 'content-length';
      else if (name.length === 4 && !hasDate) hasDate = name.toLowerCase() === 'date';
      head += `${name}: ${headers[i + 1]}\r\n`;
    }
    if (!hasDate) head += `date: ${httpDate()}\r\n`;
    let keepAlive = this.shouldKeepAlive && this.requestKeepAlive && !this.host.draining;
    this.chunkedOut = false;
    if (!noBody && !hasLength) {
      if (keepAlive && this.minor === 1) {
        head += 'transfer-encoding: chunked\r\n';
        this.chunkedOut = true;
      } else keepAlive = false;
    }
    this.shouldKeepAlive = keepAlive;
    if (!keepAlive) head += 'connection: close\r\n\r\n';
    else if (this.minor === 0) head += 'connection: keep-alive\r\n\r\n';
    else head += '\r\n';
    this.pendingHead = head;
  }

  write(chunk: Buffer): boolean {
    if (this.phase !== Phase.Active || !this.headersSent) return true;
    if (this.noBody || chunk.length === 0) return true;
    const socket = this.socket;
    const head = this.pendingHead;
    if (head === null) return this.writeBody(chunk);
    this.pendingHead = null;
    if (chunk.length <= INLINE_BODY_BYTES) {
      // Head and a small first chunk as one string: one write, no writev.
      const text = chunk.toString('latin1');
      return socket.write(this.chunkedOut ? `${head}${chunk.length.toString(16)}\r\n${text}\r\n` : head + text, 'latin1');
    }
    socket.cork();
    socket.write(head, 'latin1');
    const ok = this.writeBody(chunk);
    socket.uncork();
    return ok;
  }

  private writeBody(chunk: Buffer): boolean {
    const socket = this.socket;
    if (!this.chunkedOut) return socket.write(chunk);
    socket.cork();
    socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
    socket.write(chunk);
    const ok = socket.write(CRLF);
    socket.uncork();
    return ok;
  }

  end(body?: Buffer): void {
    if (this.phase !== Phase.Active || !this.headersSent) return;
    if (body !== undefined) this.write(body);
    const socket = this.socket;
    const last = this.chunkedOut && !this.noBody;
    const head = this.pendingHead;
    if (head !== null) {
      this.pendingHead = null;
      socket.write(last ? `${head}0\r\n\r\n` : head, 'latin1');
    } else if (last) socket.write(LAST_CHUNK);
    this.exchange = null;
    this.responseDone();
  }

  destroy(): void {
    this.exchange = null;
    this.socket.destroy();
  }

  // ---- socket and parser events (internal) --------------------------------

  /** @internal */
  data(chunk: Buffer): void {
    if (this.phase >= Phase.Closing || this.opaque) return;
    this.execute(chunk);
  }

  private execute(data: Buffer): void {
    const parser = (this.parser ??= allocParser(this, this.host.maxHeaderBytes));
    this.executing = true;
    const ret = parser.execute(data);
    this.executing = false;
    this.releaseParserIfIdle();
    if (typeof ret === 'number') {
      // Fewer bytes than given and no error: llhttp stopped after an upgrade
      // request; what follows is not HTTP this proxy reads.
      if (ret < data.length) this.opaque = true;
      return;
    }
    if (ret.code === 'HPE_PAUSED') {
      // A pipelined head is held: keep the bytes after it, stop reading.
      this.rest = Buffer.from(data.subarray(ret.bytesParsed ?? data.length));
      this.socket.pause();
      return;
    }
    if (this.phase >= Phase.Closing) return;
    // Bytes after a request that closes the connection are not answered.
    if (ret.code === 'HPE_CLOSED_CONNECTION') {
      this.opaque = true;
      return;
    }
    this.parseError(classifyClientError(ret.code));
  }

  private parseError(failure: ClientFailure): void {
    if (this.phase !== Phase.Active) return this.refuse(failure);
    if (this.requestComplete) {
      // The request being served is whole: answer it, then refuse what followed.
      this.deferredRefusal = failure;
      this.opaque = true;
      return;
    }
    // The body of the request being served is malformed.
    this.countRefusal(failure);
    const exchange = this.exchange;
    this.exchange = null;
    exchange?.onBodyAbort();
    if (this.headersSent) this.socket.destroy();
    else this.sendRefusal(failure);
  }

  /** @internal */
  messageBegin(): void {
    if (this.phase === Phase.Idle) {
      this.phase = Phase.Head;
      this.sinceMs = Date.now();
    }
  }

  /** @internal returns 0, 1 (skip the body) or HPE_PAUSED (hold a pipelined head) */
  headersComplete(major: number, minor: number, headers: string[], method: string, url: string, upgrade: boolean, keepAlive: boolean): number {
    const phase = this.phase;
    if (phase >= Phase.Closing) return 1;
    if (phase === Phase.Active) {
      this.heldHead = { minor: major === 1 ? minor : -1, headers, method, url, upgrade, keepAlive };
      return HPE_PAUSED;
    }
    return this.beginRequest(major === 1 ? minor : -1, headers, method, url, upgrade, keepAlive);
  }

  /** Checks a complete head and starts its exchange; `minor` -1: not HTTP/1.x. */
  private beginRequest(minor: number, headers: string[], method: string, url: string, upgrade: boolean, keepAlive: boolean): number {
    if (minor !== 0 && minor !== 1) return this.refuseHead(ClientRefusal.versionNotSupported);
    if (method === 'CONNECT') return this.refuseHead(ClientRefusal.notImplemented);
    let te: string | null = null;
    let teEmpty = false;
    let length = -1;
    let hostAt = -1;
    let expect: string | null = null;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i] ?? '';
      switch (name.length) {
        case 4:
          if (name.toLowerCase() === 'host') {
            if (hostAt >= 0) return this.refuseHead(ClientRefusal.malformed);
            hostAt = i;
          }
          break;
        case 6:
          if (name.toLowerCase() === 'expect') expect = headers[i + 1] ?? '';
          break;
        case 14:
          // llhttp refused a second, different or non-numeric Content-Length.
          if (name.toLowerCase() === 'content-length') length = Number(headers[i + 1]);
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') {
            const value = (headers[i + 1] ?? '').trim();
            if (value === '') teEmpty = true;
            te = te === null ? value : `${te},${value}`;
          }
          break;
        default:
      }
    }
    if (te !== null) {
      // llhttp ignores an empty value and accepts `gzip, chunked`; an empty
      // one is ambiguous framing (400), any coding but exactly `chunked` is
      // not implemented here (501, as nginx).
      if (teEmpty || minor === 0) return this.refuseHead(ClientRefusal.malformed);
      if (te.toLowerCase() !== 'chunked') return this.refuseHead(ClientRefusal.notImplemented);
    }
    if (length > this.host.maxBodyBytes) return this.refuseHead(ClientRefusal.bodyTooLarge);
    let target = url;
    if (url.charCodeAt(0) !== 47 /* / */ && url !== '*') {
      // Absolute form (RFC 9112 §3.2.2): origin form upstream, its authority is the Host.
      const m = /^https?:\/\/(?:[^/?#@]*@)?([^/?#]*)(.*)$/i.exec(url);
      const authority = m?.[1] ?? '';
      if (m === null || authority === '') return this.refuseHead(ClientRefusal.malformed);
      const path = m[2] ?? '';
      target = path === '' ? (method === 'OPTIONS' ? '*' : '/') : path.charCodeAt(0) === 47 ? path : `/${path}`;
      if (hostAt >= 0) headers[hostAt + 1] = authority;
      else headers.push('Host', authority);
    }
    if (expect !== null) {
      if (minor === 1 && /(?:^|\W)100-continue(?:$|\W)/i.test(expect)) this.socket.write(CONTINUE);
      else if (minor === 1) return this.refuseHead(ClientRefusal.expectationFailed);
    }
    this.fresh = false;
    this.phase = Phase.Active;
    this.sinceMs = Date.now();
    this.minor = minor;
    this.method = method;
    this.url = target;
    this.rawHeaders = headers;
    this.requestKeepAlive = keepAlive && !upgrade;
    this.shouldKeepAlive = true;
    this.headersSent = false;
    this.requestComplete = false;
    this.requestHasBody = te !== null || length > 0;
    this.doneBeforeComplete = false;
    this.flowing = false;
    this.endPending = false;
    this.held = null;
    this.bodyBytes = 0;
    this.host.handleRequest(this);
    return 0;
  }

  private refuseHead(failure: ClientFailure): number {
    this.refuse(failure);
    return 1;
  }

  /** @internal */
  body(chunk: Buffer): void {
    if (this.phase !== Phase.Active) return;
    this.bodyBytes += chunk.length;
    this.lastBodyReadMs = Date.now();
    if (this.bodyBytes > this.host.maxBodyBytes) {
      // Chunked: the sum passed the limit (a Content-Length was checked at once).
      this.stopExchange(ClientRefusal.bodyTooLarge);
      if (this.headersSent) this.socket.destroy();
      else this.sendRefusal(ClientRefusal.bodyTooLarge);
      return;
    }
    const exchange = this.exchange;
    if (this.flowing && exchange !== null && this.held === null) {
      exchange.onBodyData(chunk);
      return;
    }
    (this.held ??= []).push(chunk);
    this.socket.pause();
  }

  /** @internal */
  messageComplete(): void {
    if (this.phase !== Phase.Active || this.requestComplete) return;
    this.requestComplete = true;
    if (this.doneBeforeComplete) {
      this.doneBeforeComplete = false;
      this.responseDone();
      return;
    }
    const exchange = this.exchange;
    if (exchange === null) return;
    if (this.flowing && this.held === null) exchange.onBodyEnd();
    else this.endPending = true;
  }

  /** The response is complete: next request, or close. */
  private responseDone(): void {
    if (this.deferredRefusal !== null) {
      const failure = this.deferredRefusal;
      this.deferredRefusal = null;
      this.refuse(failure);
      return;
    }
    if (!this.requestComplete && !this.requestHasBody && this.shouldKeepAlive) {
      // Answered at once (503) from the head callback: the parser completes
      // this bodiless request right after it returns.
      this.doneBeforeComplete = true;
      return;
    }
    if (!this.shouldKeepAlive || !this.requestComplete) {
      this.closeGracefully();
      return;
    }
    this.phase = Phase.Idle;
    this.sinceMs = Date.now();
    this.held = null;
    // An idle connection keeps nothing of the request it served.
    this.rawHeaders = NO_HEADERS;
    this.url = '';
    const head = this.heldHead;
    if (head !== null) {
      this.heldHead = null;
      this.phase = Phase.Head;
      this.beginRequest(head.minor, head.headers, head.method, head.url, head.upgrade, head.keepAlive);
      // A refused held head left the connection closing.
      if ((this.phase as Phase) >= Phase.Closing) return;
    }
    const rest = this.rest;
    if (rest !== null) {
      this.rest = null;
      this.parser?.resume();
      this.execute(rest);
      if (this.rest !== null) return;
    }
    this.releaseParserIfIdle();
    if (this.phase === Phase.Idle || this.flowing || this.held === null) this.socket.resume();
  }

  /** Gives the parser back between requests: idle, no held input, not inside its own callback. */
  private releaseParserIfIdle(): void {
    if (this.phase !== Phase.Idle || this.executing || this.rest !== null || this.parser === null) return;
    freeParser(this.parser);
    this.parser = null;
  }

  /** Sends `failure`'s response and closes. */
  private refuse(failure: ClientFailure): void {
    if (this.phase >= Phase.Closing) return;
    this.stopExchange(failure);
    if (this.headersSent) {
      this.socket.destroy();
      return;
    }
    this.sendRefusal(failure);
  }

  /** Counts `failure` and stops the exchange in progress, if any (requestRefused: not a client abort). */
  private stopExchange(failure: ClientFailure): void {
    this.countRefusal(failure);
    const exchange = this.exchange;
    this.exchange = null;
    exchange?.requestRefused();
  }

  private countRefusal(failure: ClientFailure): void {
    const counters = this.host.counters;
    const index = errorIndexOf(failure.kind);
    counters.errorsByKind[index] = (counters.errorsByKind[index] ?? 0) + 1;
  }

  private sendRefusal(failure: ClientFailure): void {
    this.headersSent = true;
    this.socket.write(rawErrorResponse(failure.status));
    this.closeGracefully();
  }

  /** Ends the socket after what is written; reads and drops input meanwhile (lingering close). */
  private closeGracefully(): void {
    this.phase = Phase.Closing;
    this.sinceMs = Date.now();
    this.held = null;
    this.rest = null;
    this.heldHead = null;
    if (this.pendingHead !== null) {
      this.socket.write(this.pendingHead, 'latin1');
      this.pendingHead = null;
    }
    this.socket.end();
    this.socket.resume();
  }

  /** @internal The client half-closed: as node:http and nginx, an abort of
   * the request in progress (its exchange is cancelled on close). */
  peerEnd(): void {
    this.socket.destroy();
  }

  /** @internal */
  socketDrained(): void {
    this.drainedSinceSweep = true;
    this.exchange?.drained();
  }

  /** @internal */
  socketClosed(): void {
    const was = this.phase;
    this.phase = Phase.Closed;
    const exchange = this.exchange;
    this.exchange = null;
    this.held = null;
    this.rest = null;
    this.heldHead = null;
    if (was === Phase.Active && exchange !== null) exchange.clientGone();
    if (this.parser !== null) freeParser(this.parser);
    this.parser = null;
    this.host.closed(this);
  }
}
