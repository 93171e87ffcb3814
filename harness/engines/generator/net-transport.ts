/**
 * The raw-socket transport: `net.connect` plus the minimal parser in
 * response-parser.ts. The request bytes are encoded once per run, so a send
 * is one `socket.write` of a shared Buffer. Reads land in one buffer shared
 * by every connection of the process (`onread`), which the parser only
 * scans: receiving a large body allocates nothing per read.
 */
import net from 'node:net';
import { ResponseParser, ResponseParseError, type ParsedResponse } from './response-parser.js';
import type { Connection, ConnectionEvents, ConnectionFactory, RequestFailure, RequestTemplate } from './transport.js';

/** Encodes the request once: request line, Host, Content-Length when there
 * is a body, the given headers, and the body. */
export function encodeRequest(t: RequestTemplate): Buffer {
  const body = t.body === undefined ? undefined : Buffer.from(t.body);
  const lines = [`${t.method} ${t.path} HTTP/1.1`];
  const names = new Set(Object.keys(t.headers).map((h) => h.toLowerCase()));
  if (!names.has('host')) lines.push(`Host: ${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`);
  if (body && !names.has('content-length')) lines.push(`Content-Length: ${body.length}`);
  for (const [k, v] of Object.entries(t.headers)) {
    if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) throw new TypeError(`header ${JSON.stringify(k)} contains CR or LF`);
    lines.push(`${k}: ${v}`);
  }
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  return body ? Buffer.concat([head, body]) : head;
}

/** Size of the shared read buffer, bytes. Larger than libuv's 64 KiB
 * default so that a large response takes fewer reads (and 'data' callbacks). */
export const READ_BUFFER_BYTES = 256 * 1024;

let readBuffer: Buffer | undefined;
/** The process's read buffer. Safe to share: the event loop runs one read
 * callback at a time and the parser keeps no reference to what it was given.
 * Handed to `onread` as a Buffer, not a function: Node calls a function and
 * re-registers its result after every read. */
function sharedReadBuffer(): Buffer {
  return (readBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES));
}

/** A ConnectionFactory of raw-socket connections for `template`. */
export function netConnectionFactory(template: RequestTemplate): ConnectionFactory {
  const request = encodeRequest(template);
  const hasBody = template.method.toUpperCase() !== 'HEAD';
  return (slot, localAddress, events) => new NetConnection(slot, template.host, template.port, localAddress, request, hasBody, events);
}

const enum Phase {
  New,
  Connecting,
  Open,
  Closed,
}

class NetConnection implements Connection {
  private socket: net.Socket | undefined;
  private phase = Phase.New;
  private inFlight = false;
  /** Set once a failure has been reported, so one close reports once. */
  private failed = false;
  private readonly parser = new ResponseParser();
  private readonly onRead = (nread: number, buf: Uint8Array): boolean => {
    // `buf` is the shared Buffer handed to onread, hence the cast.
    if (this.phase !== Phase.Closed) this.handleData((buf as Buffer).subarray(0, nread));
    return true;
  };

  constructor(
    readonly slot: number,
    private readonly host: string,
    private readonly port: number,
    private readonly localAddress: string | undefined,
    private readonly request: Buffer,
    private readonly hasBody: boolean,
    private readonly events: ConnectionEvents,
  ) {}

  connect(): void {
    if (this.phase !== Phase.New) return;
    this.phase = Phase.Connecting;
    const opts: net.TcpNetConnectOpts = {
      host: this.host,
      port: this.port,
      noDelay: true,
      onread: { buffer: sharedReadBuffer(), callback: this.onRead },
    };
    if (this.localAddress) opts.localAddress = this.localAddress;
    const socket = net.connect(opts);
    this.socket = socket;
    socket.on('connect', () => {
      if (this.phase !== Phase.Connecting) return;
      this.phase = Phase.Open;
      this.events.onOpen(this);
    });
    socket.on('end', () => this.handleEnd());
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.handleClose());
  }

  send(): void {
    if (this.phase !== Phase.Open || this.inFlight) throw new Error(`connection ${this.slot} is not idle`);
    this.inFlight = true;
    this.parser.expect(this.hasBody);
    this.socket!.write(this.request);
  }

  abort(kind?: RequestFailure): void {
    if (this.phase === Phase.Closed) return;
    if (kind && this.inFlight && !this.failed) {
      this.failed = true;
      this.inFlight = false;
      this.events.onRequestFailed(this, kind);
    }
    this.failed = true;
    this.socket?.destroy();
    // Report the close now, not on the 'close' event a tick later, so the
    // generator never picks this connection in between.
    this.handleClose();
  }

  private handleData(chunk: Buffer): void {
    try {
      this.parser.execute(chunk, this.complete);
    } catch (err) {
      this.abort(err instanceof ResponseParseError ? 'parse' : 'reset');
    }
  }

  private readonly complete = (r: ParsedResponse): void => {
    if (!this.inFlight) {
      // Bytes nobody asked for: the stream is out of sync.
      throw new ResponseParseError('response without a request');
    }
    this.inFlight = false;
    this.events.onResponse(this, r);
    if (r.close) this.abort();
  };

  private handleEnd(): void {
    // The server half-closed: a body delimited by close completes here.
    try {
      const r = this.parser.end();
      if (r && this.inFlight) {
        this.inFlight = false;
        this.events.onResponse(this, r);
      }
    } catch {
      /* cut short: reported as a reset on close */
    }
    this.socket?.destroy();
    this.handleClose();
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    if (this.phase === Phase.Connecting) {
      this.events.onConnectFailed(this, err);
    } else if (this.inFlight) {
      this.inFlight = false;
      this.events.onRequestFailed(this, 'reset', err);
    }
  }

  private handleClose(): void {
    if (this.phase === Phase.Closed) return;
    if (!this.failed) {
      if (this.phase === Phase.Connecting) this.fail(new Error('closed while connecting'));
      else if (this.inFlight) this.fail(new Error('closed by peer'));
    }
    this.phase = Phase.Closed;
    this.events.onClosed(this);
  }
}
