/**
 * fast-check arbitraries for the response fuzzer: a backend response built
 * from parts (interim 1xx responses, the status line, header fields, the
 * body's framing: Content-Length, chunked, close-delimited, or a body where
 * none may be), then byte edits, a truncation, the splits of its writes,
 * and what the backend does afterwards (keep the connection, close it,
 * reset it). The request it answers is a GET, HEAD or POST.
 */
import fc from 'fast-check';
import { applyEdits, splitAt, type ByteEdit, type ChunkSpec } from './request-cases.js';

/** A backend's response before byte edits. */
export interface ResponseSpec {
  /** Interim responses sent first, each complete (`HTTP/1.1 103 Early Hints\r\n...\r\n\r\n`). */
  interim: string[];
  statusLine: string;
  headers: [string, string][];
  body: { kind: 'none' } | { kind: 'raw'; data: string } | { kind: 'chunked'; chunks: ChunkSpec[]; last: string; trailers: [string, string][] };
}

/** One case of the response fuzzer. */
export interface ResponseCase {
  method: 'GET' | 'HEAD' | 'POST';
  response: ResponseSpec;
  /** Byte edits of the final response (not of the interim ones). */
  edits: ByteEdit[];
  /** Cut the whole stream at this fraction of its length (null: send all). */
  truncate: number | null;
  splits: number[];
  /** After the last write: keep the connection open, close it (FIN), or reset it (RST). */
  after: 'keep' | 'end' | 'reset';
}

const STATUS_LINES = [
  'HTTP/1.1 200 OK',
  'HTTP/1.1 201 Created',
  'HTTP/1.1 204 No Content',
  'HTTP/1.1 206 Partial Content',
  'HTTP/1.1 301 Moved Permanently',
  'HTTP/1.1 304 Not Modified',
  'HTTP/1.1 404 Not Found',
  'HTTP/1.1 500 Internal Server Error',
  'HTTP/1.1 503 Service Unavailable',
  'HTTP/1.0 200 OK',
];
const ODD_STATUS_LINES = [
  'HTTP/1.1 200',
  'HTTP/1.1 200 ',
  'HTTP/1.1  200 OK',
  'HTTP/1.1 101 Switching Protocols',
  'HTTP/1.1 100 Continue',
  'HTTP/1.1 199 Odd',
  'HTTP/1.1 600 Beyond',
  'HTTP/1.1 999 Nine',
  'HTTP/1.1 20 Short',
  'HTTP/1.1 2000 Long',
  'HTTP/2 200 OK',
  'HTTP/1.2 200 OK',
  'http/1.1 200 OK',
  'HTTP/1.1 200 O\u0001K',
  'HTTP/1.1 200 \u00e9t\u00e9',
  'ICY 200 OK',
  '',
];
const INTERIM = [
  'HTTP/1.1 100 Continue\r\n\r\n',
  'HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n',
  'HTTP/1.1 102 Processing\r\n\r\n',
  'HTTP/1.1 100 Continue\r\nContent-Length: 3\r\n\r\n',
];

const HEADER_NAMES = [
  'Content-Length',
  'Transfer-Encoding',
  'Connection',
  'Keep-Alive',
  'Content-Type',
  'Set-Cookie',
  'X-Custom',
  'Trailer',
  'Upgrade',
  'Proxy-Connection',
  'Content-Length ',
  'Transfer-Encoding\t',
  'X-\u00e9',
  '',
];
const VALUES = [
  'chunked',
  'xchunked',
  'gzip, chunked',
  'chunked, gzip',
  'identity',
  '0',
  '3',
  '5',
  '-1',
  '3,3',
  '3, 4',
  '0x3',
  '99999999999999999999',
  'close',
  'keep-alive',
  'timeout=1',
  'a=b',
  'a\u0001b',
  '\u00ff',
  '',
  ' ',
  'X-Custom',
];

const header: fc.Arbitrary<[string, string]> = fc.tuple(fc.constantFrom(...HEADER_NAMES), fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 6 })));
const bodyData = fc.string({ maxLength: 24, unit: fc.constantFrom('a', 'b', '0', '\r', '\n', ' ', 'H', 'T', 'P', '/', '1', '.') });
const chunk: fc.Arbitrary<ChunkSpec> = bodyData.chain((data) =>
  fc.record({
    size: fc.oneof(
      { weight: 6, arbitrary: fc.constant(data.length.toString(16)) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          (data.length + 1).toString(16),
          `0${data.length.toString(16)}`,
          '-1',
          'g',
          '',
          'ffffffffffffffffff',
          ` ${data.length.toString(16)}`,
        ),
      },
    ),
    ext: fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom(';a=b', ';', ';a="x"', ';\u0001') }),
    data: fc.constant(data),
  }),
);

const responseSpec: fc.Arbitrary<ResponseSpec> = fc
  .record({
    interim: fc.oneof(
      { weight: 5, arbitrary: fc.constant([] as string[]) },
      { weight: 2, arbitrary: fc.array(fc.constantFrom(...INTERIM), { minLength: 1, maxLength: 2 }) },
    ),
    statusLine: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...STATUS_LINES) }, { weight: 2, arbitrary: fc.constantFrom(...ODD_STATUS_LINES) }),
    framing: fc.constantFrom('cl', 'cl', 'chunked', 'close', 'cl+te', 'te+cl', 'cl+cl', 'none'),
    data: bodyData,
    clDelta: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }),
    chunks: fc.array(chunk, { maxLength: 3 }),
    last: fc.oneof({ weight: 6, arbitrary: fc.constant('0') }, { weight: 1, arbitrary: fc.constantFrom('00', '0;x', '') }),
    trailers: fc.oneof({ weight: 4, arbitrary: fc.constant([] as [string, string][]) }, { weight: 1, arbitrary: fc.array(header, { maxLength: 2 }) }),
    extra: fc.array(header, { maxLength: 2 }),
  })
  .map((r): ResponseSpec => {
    const cl = String(Math.max(0, r.data.length + r.clDelta));
    const headers: [string, string][] = [['Content-Type', 'text/plain']];
    let body: ResponseSpec['body'] = { kind: 'raw', data: r.data };
    const chunked: ResponseSpec['body'] = { kind: 'chunked', chunks: r.chunks, last: r.last, trailers: r.trailers };
    switch (r.framing) {
      case 'cl':
        headers.push(['Content-Length', cl]);
        break;
      case 'chunked':
        headers.push(['Transfer-Encoding', 'chunked']);
        body = chunked;
        break;
      case 'cl+te':
        headers.push(['Content-Length', cl], ['Transfer-Encoding', 'chunked']);
        body = chunked;
        break;
      case 'te+cl':
        headers.push(['Transfer-Encoding', 'chunked'], ['Content-Length', cl]);
        break;
      case 'cl+cl':
        headers.push(['Content-Length', cl], ['Content-Length', String(r.data.length + 1)]);
        break;
      case 'none':
        body = { kind: 'none' };
        break;
      default:
      // close-delimited: no length at all
    }
    headers.push(...r.extra);
    return { interim: r.interim, statusLine: r.statusLine, headers, body };
  });

/** The response fuzzer's cases. */
export const responseCase: fc.Arbitrary<ResponseCase> = fc.record({
  method: fc.constantFrom('GET', 'GET', 'HEAD', 'POST'),
  response: responseSpec,
  edits: fc.oneof({ weight: 3, arbitrary: fc.constant([] as ByteEdit[]) }, { weight: 1, arbitrary: fc.array(responseEdit(), { minLength: 1, maxLength: 2 }) }),
  truncate: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }) }),
  splits: fc.oneof(
    { weight: 2, arbitrary: fc.constant([] as number[]) },
    { weight: 2, arbitrary: fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 3 }) },
  ),
  after: fc.constantFrom('keep', 'keep', 'end', 'reset'),
});

function responseEdit(): fc.Arbitrary<ByteEdit> {
  return fc.oneof(
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(0x00, 0x0a, 0x0d, 0x20, 0x3a, 0x7f, 0x80, 0xff, 0x30) }),
    fc.record({
      op: fc.constant('insert' as const),
      at: fc.nat(),
      bytes: fc.constantFrom(
        '\r\n',
        '\n',
        ' ',
        '\0',
        'Content-Length: 1\r\n',
        'Transfer-Encoding: chunked\r\n',
        'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nXX',
      ),
    }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 3 }) }),
  );
}

/** Serializes the final response (without the interim ones). */
export function serializeFinal(r: ResponseSpec): string {
  let s = `${r.statusLine}\r\n`;
  for (const [n, v] of r.headers) s += `${n}: ${v}\r\n`;
  s += '\r\n';
  if (r.body.kind === 'raw') s += r.body.data;
  else if (r.body.kind === 'chunked') {
    for (const c of r.body.chunks) s += `${c.size}${c.ext}\r\n${c.data}\r\n`;
    s += `${r.body.last}\r\n`;
    for (const [n, v] of r.body.trailers) s += `${n}: ${v}\r\n`;
    s += '\r\n';
  }
  return s;
}

/**
 * The bytes the backend writes for case `c`, with `tag` (a header line such
 * as `x-fuzz-case: 7\r\n`) put right after the final response's first line
 * ending, where no edit reaches it: answers are told apart by it.
 */
export function responseBytes(c: ResponseCase, tag: string): Buffer {
  const final = applyEdits(Buffer.from(serializeFinal(c.response), 'latin1'), c.edits);
  const nl = final.indexOf(0x0a);
  const tagged = nl < 0 ? final : Buffer.concat([final.subarray(0, nl + 1), Buffer.from(tag, 'latin1'), final.subarray(nl + 1)]);
  const whole = Buffer.concat([Buffer.from(c.response.interim.join(''), 'latin1'), tagged]);
  return c.truncate === null ? whole : whole.subarray(0, Math.floor(c.truncate * whole.length));
}

/** The writes of `bytes` for case `c`. */
export function responseWrites(c: ResponseCase, bytes: Buffer): Buffer[] {
  return splitAt(bytes, c.splits);
}
