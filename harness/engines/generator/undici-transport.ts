/**
 * The undici transport: one `undici.Client` (pipelining 1) per connection,
 * driven through `dispatch` with a raw handler so no promise or stream is
 * made per request. Kept to measure against the raw-socket transport; byte
 * counts cover bodies only (undici hides the header bytes).
 *
 * undici connects lazily, so `onOpen` fires at once and the first request
 * (the generator's primer) opens the socket; a refused connection therefore
 * surfaces as a failed request, mapped back to a connect failure here.
 */
import { Client, type Dispatcher } from 'undici';
import type { Connection, ConnectionEvents, ConnectionFactory, RequestFailure, RequestTemplate } from './transport.js';

const CONNECT_ERROR_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EADDRNOTAVAIL', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A ConnectionFactory of undici-backed connections for `template`. */
export function undiciConnectionFactory(template: RequestTemplate): ConnectionFactory {
  const host = template.host.includes(':') ? `[${template.host}]` : template.host;
  const origin = `http://${host}:${template.port}`;
  const options: Dispatcher.DispatchOptions = {
    origin,
    path: template.path,
    method: template.method as Dispatcher.HttpMethod,
    headers: template.headers,
    body: template.body ?? null,
  };
  return (slot, localAddress, events) => new UndiciConnection(slot, origin, localAddress, options, events);
}

class UndiciConnection implements Connection {
  private client: Client | undefined;
  private inFlight = false;
  private everAnswered = false;
  private closed = false;
  private status = 0;
  private bytes = 0;
  private close = false;
  private readonly handler: Dispatcher.DispatchHandler;

  constructor(
    readonly slot: number,
    private readonly origin: string,
    private readonly localAddress: string | undefined,
    private readonly options: Dispatcher.DispatchOptions,
    private readonly events: ConnectionEvents,
  ) {
    this.handler = {
      onRequestStart: () => {},
      onResponseStart: (_c, statusCode, headers) => {
        this.status = statusCode;
        const conn = headers['connection'];
        this.close = typeof conn === 'string' && conn.toLowerCase().includes('close');
      },
      onResponseData: (_c, chunk) => {
        this.bytes += chunk.length;
      },
      onResponseEnd: () => {
        if (!this.inFlight) return;
        this.inFlight = false;
        this.everAnswered = true;
        const r = { status: this.status, bytes: this.bytes, close: this.close };
        this.events.onResponse(this, r);
        if (r.close) this.abort();
      },
      onResponseError: (_c, err) => {
        if (!this.inFlight) return;
        this.inFlight = false;
        const code = (err as { code?: string }).code ?? '';
        if (!this.everAnswered && CONNECT_ERROR_CODES.has(code)) this.events.onConnectFailed(this, err);
        else this.events.onRequestFailed(this, 'reset', err);
        this.abort();
      },
    };
  }

  connect(): void {
    if (this.client) return;
    this.client = new Client(this.origin, {
      pipelining: 1,
      keepAliveTimeout: 600_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { noDelay: true },
      ...(this.localAddress ? { localAddress: this.localAddress } : {}),
    });
    queueMicrotask(() => {
      if (!this.closed) this.events.onOpen(this);
    });
  }

  send(): void {
    if (!this.client || this.closed || this.inFlight) throw new Error(`connection ${this.slot} is not idle`);
    this.inFlight = true;
    this.status = 0;
    this.bytes = 0;
    this.close = false;
    this.client.dispatch(this.options, this.handler);
  }

  abort(kind?: RequestFailure): void {
    if (this.closed) return;
    this.closed = true;
    if (kind && this.inFlight) {
      this.inFlight = false;
      this.events.onRequestFailed(this, kind);
    }
    this.inFlight = false;
    const client = this.client;
    this.client = undefined;
    if (client) client.destroy().catch(() => {});
    this.events.onClosed(this);
  }
}
