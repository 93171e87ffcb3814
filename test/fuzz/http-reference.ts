/**
 * The fuzzers' oracle: a strict reading of HTTP/1.1 byte streams with
 * llhttp (node's own parser, no lenient flags), the reading RFC 9112
 * prescribes and the one a careful backend or client makes. A fuzz case
 * judges the balancer by comparing what it forwarded or answered with what
 * this reference saw in the bytes it was given.
 *
 * Splits do not matter to it: llhttp is incremental, so the whole stream is
 * parsed in one call.
 */
import { createRequire } from 'node:module';

interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | (Error & { code?: string; bytesParsed?: number });
  finish(): number | (Error & { code?: string }) | undefined;
  close(): void;
  [key: number]: unknown;
}

/** The members of node's undocumented `_http_common` used here (node 20-24; lb/upstream-connection.ts uses it too). */
interface HttpCommon {
  HTTPParser: {
    new (): Parser;
    REQUEST: number;
    RESPONSE: number;
    kLenientNone: number;
    kOnMessageBegin: number;
    kOnHeaders: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
    kOnExecute: number;
  };
  methods: string[];
}

// Loaded with require so this file does not depend on a declaration of the module.
const { HTTPParser, methods } = createRequire(import.meta.url)('_http_common') as HttpCommon;

/** One message as the reference read it. */
export interface ReferenceMessage {
  /** Request method (requests) or '' (responses). */
  method: string;
  /** Request target as sent (requests) or '' (responses). */
  url: string;
  /** Status code (responses) or 0 (requests). */
  status: number;
  /** Reason phrase as sent (responses) or '' (requests). */
  statusText: string;
  versionMinor: number;
  /** Header fields in order as [name, value, ...] (trailers not included). */
  headers: string[];
  /** Body bytes after de-chunking. */
  body: Buffer;
  /** Whether the connection may carry another message after this one. */
  keepAlive: boolean;
  /** A 1xx response other than 101 (interim; the final one follows). */
  interim: boolean;
  /** Upgrade requested (requests) or 101 (responses): what follows is not HTTP. */
  upgrade: boolean;
}

/** How the stream ended for the reference. */
export type StreamEnd =
  /** At a message boundary. */
  | 'complete'
  /** In the middle of a message (more bytes were expected). */
  | 'incomplete'
  /** At a byte the strict parser refuses; nothing after it is HTTP. */
  | 'error'
  /** After an upgrade: the rest is another protocol. */
  | 'upgrade';

export interface ReferenceParse {
  messages: ReferenceMessage[];
  end: StreamEnd;
  /** llhttp's error code when `end` is `error` (e.g. `HPE_INVALID_CONSTANT`). */
  error?: string;
  /** The stream ended inside a message whose head was complete. */
  partialHead: boolean;
  /** That message (its head, and the body bytes read so far), when `partialHead`. */
  partial?: ReferenceMessage;
}

/** Options of parseResponses. */
export interface ResponseParseOptions {
  /** Whether the final response number `index` has no body whatever it declares (answer to HEAD). */
  skipBody?: (index: number, status: number, headers: readonly string[]) => boolean;
  /** The stream was closed by the peer: a close-delimited body ends there. */
  closed?: boolean;
}

/** Largest head the reference accepts, bytes (the balancer's default `limits.maxHeaderBytes`). */
export const REFERENCE_MAX_HEADER_BYTES = 16_384;

function parse(type: 'request' | 'response', data: Buffer, opts: ResponseParseOptions = {}): ReferenceParse {
  const parser = new HTTPParser();
  parser.initialize(type === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE, {}, REFERENCE_MAX_HEADER_BYTES, HTTPParser.kLenientNone);
  const messages: ReferenceMessage[] = [];
  let current: ReferenceMessage | null = null;
  let inBody = false;
  let finals = 0;
  let partialHead = false;
  const begin = (): ReferenceMessage => ({
    method: '',
    url: '',
    status: 0,
    statusText: '',
    versionMinor: 1,
    headers: [],
    body: Buffer.alloc(0),
    keepAlive: true,
    interim: false,
    upgrade: false,
  });
  parser[HTTPParser.kOnMessageBegin] = () => {
    current = begin();
    inBody = false;
  };
  parser[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
    current ??= begin();
    // After the head, header parts are trailers: not part of the message's fields.
    if (inBody) return;
    current.headers.push(...headers);
    if (url) current.url += url;
  };
  parser[HTTPParser.kOnHeadersComplete] = (
    _major: number,
    minor: number,
    headers: string[] | undefined,
    method: number | undefined,
    url: string | undefined,
    status: number | undefined,
    text: string | undefined,
    upgrade: boolean,
    keepAlive: boolean,
  ): number => {
    const m = (current ??= begin());
    if (headers) m.headers.push(...headers);
    if (url) m.url = m.url ? m.url + url : url;
    m.method = type === 'request' ? (methods[method ?? -1] ?? '') : '';
    m.status = status ?? 0;
    m.statusText = text ?? '';
    m.versionMinor = minor;
    m.keepAlive = keepAlive;
    m.upgrade = upgrade;
    m.interim = type === 'response' && m.status >= 100 && m.status < 200 && m.status !== 101;
    inBody = true;
    partialHead = true;
    if (type === 'response' && !m.interim && opts.skipBody?.(finals, m.status, m.headers)) return 1;
    return 0;
  };
  parser[HTTPParser.kOnBody] = (chunk: Buffer) => {
    if (current) current.body = Buffer.concat([current.body, chunk]);
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    if (!current) return;
    messages.push(current);
    if (!current.interim) finals++;
    current = null;
    inBody = false;
    partialHead = false;
  };
  parser[HTTPParser.kOnExecute] = () => undefined;
  const result: ReferenceParse = { messages, end: 'complete', partialHead: false };
  try {
    const ret = parser.execute(data);
    if (ret instanceof Error) {
      result.end = 'error';
      result.error = ret.code ?? ret.message;
    } else if (messages.at(-1)?.upgrade === true) {
      result.end = 'upgrade';
    } else if (opts.closed) {
      const fin = parser.finish();
      if (fin instanceof Error) {
        result.end = current !== null ? 'incomplete' : 'error';
        result.error = fin.code ?? fin.message;
      } else if (current !== null) result.end = 'incomplete';
    } else if (current !== null) {
      result.end = 'incomplete';
    }
  } finally {
    parser.close();
  }
  result.partialHead = partialHead && result.end !== 'complete';
  if (result.partialHead && current !== null) result.partial = current;
  return result;
}

/** Reads a client's byte stream as a sequence of requests. */
export function parseRequests(data: Buffer): ReferenceParse {
  return parse('request', data);
}

/** Reads a server's byte stream as a sequence of responses. */
export function parseResponses(data: Buffer, opts: ResponseParseOptions = {}): ReferenceParse {
  return parse('response', data, opts);
}

/** Values of field `name` (case-insensitive) in a flat header list. */
export function headerValues(headers: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const n = headers[i];
    const v = headers[i + 1];
    if (n !== undefined && v !== undefined && n.toLowerCase() === name) out.push(v);
  }
  return out;
}

/** Fields that never travel past a hop (RFC 9110 §7.6.1), and those the
 * Connection field names. */
export function endToEndHeaders(headers: readonly string[], alsoDrop: readonly string[] = []): string[] {
  const hop = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', ...alsoDrop]);
  for (const v of headerValues(headers, 'connection')) for (const t of v.split(',')) if (t.trim()) hop.add(t.trim().toLowerCase());
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const n = headers[i];
    const v = headers[i + 1];
    if (n !== undefined && v !== undefined && !hop.has(n.toLowerCase())) out.push(n, v);
  }
  return out;
}
