/**
 * fast-check arbitraries for the request fuzzer: valid HTTP/1.1 requests
 * (one to three, pipelined on one connection), then mutated where proxies
 * are known to disagree with backends: the framing (Content-Length and
 * Transfer-Encoding combinations, chunk sizes, extensions and trailers),
 * header names and values, line endings, single bytes, and the points at
 * which the bytes are split across TCP writes.
 *
 * Every case is plain data, so fast-check can shrink a failing one to a
 * small counterexample and print it.
 */
import fc from 'fast-check';

/** One chunk of a chunked body: `size` is the size line as sent (normally hex of data.length). */
export interface ChunkSpec {
  size: string;
  ext: string;
  data: string;
}

/** A request before byte-level mutation. */
export interface RequestSpec {
  method: string;
  target: string;
  version: string;
  /** Header fields in order (may repeat, may be odd). */
  headers: [string, string][];
  /** `none`: no body; `raw`: `data` as is (with whatever Content-Length the headers say); `chunked`: chunks then a last chunk. */
  body: { kind: 'none' } | { kind: 'raw'; data: string } | { kind: 'chunked'; chunks: ChunkSpec[]; last: string; trailers: [string, string][] };
  /** Line ending used in the head (normally `\r\n`). */
  eol: string;
}

/** A byte-level edit of the serialized stream; positions are taken modulo its length. */
export type ByteEdit = { op: 'set'; at: number; byte: number } | { op: 'insert'; at: number; bytes: string } | { op: 'delete'; at: number; count: number };

/** One fuzz case: what the client writes, and how it is cut into writes. */
export interface RequestCase {
  requests: RequestSpec[];
  edits: ByteEdit[];
  /** Split points as fractions of the stream length, in [0, 1). */
  splits: number[];
}

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];

/** Header names worth mutating: framing, hop-by-hop, forwarding. */
const HEADER_NAMES = [
  'Content-Length',
  'content-length',
  'Transfer-Encoding',
  'transfer-encoding',
  'Host',
  'Connection',
  'Expect',
  'TE',
  'Trailer',
  'Keep-Alive',
  'Proxy-Connection',
  'X-Forwarded-For',
  'Via',
  'X-Custom',
  'Content-Length ',
  ' Transfer-Encoding',
  'Transfer_Encoding',
  'Content-Length\t',
  'X-\u00e9',
  '',
];

const TE_VALUES = [
  'chunked',
  'Chunked',
  'CHUNKED',
  ' chunked',
  'chunked ',
  'xchunked',
  'chunked, chunked',
  'gzip, chunked',
  'chunked, gzip',
  'identity',
  'gzip',
  '',
  'chunked;q=1',
  'chu\tnked',
];
const CL_VALUES = ['0', '1', '2', '3', '5', '10', '-1', '+3', '03', '3 ', ' 3', '3,3', '3, 4', '0x3', '1e1', '99999999999999999999', '', 'abc'];
const OTHER_VALUES = [
  'close',
  'keep-alive',
  'Keep-Alive, close',
  '100-continue',
  'trailers',
  'upgrade',
  'x',
  '127.0.0.1',
  'a\u0001b',
  'a\u007fb',
  '\u00ff',
  ' ',
  'TE, Host',
  'X-Custom',
];

const headerValue = fc.oneof(fc.constantFrom(...TE_VALUES), fc.constantFrom(...CL_VALUES), fc.constantFrom(...OTHER_VALUES), fc.string({ maxLength: 8 }));
const header: fc.Arbitrary<[string, string]> = fc.tuple(
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...HEADER_NAMES) }, { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 6 }) }),
  headerValue,
);

const bodyData = fc.string({ maxLength: 24, unit: fc.constantFrom('a', 'b', '0', '\r', '\n', ' ', 'G', 'E', 'T', '/', ':', ';') });

/** A size line for `data`: right most of the time, otherwise one of the classic lies. */
function chunkSize(data: string): fc.Arbitrary<string> {
  const hex = data.length.toString(16);
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(hex) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        hex.toUpperCase(),
        `0${hex}`,
        `00000000000000000${hex}`,
        (data.length + 1).toString(16),
        Math.max(0, data.length - 1).toString(16),
        `-${hex}`,
        `0x${hex}`,
        ` ${hex}`,
        `${hex} `,
        'ffffffffffffffffff',
        '',
      ),
    },
  );
}

const chunkExt = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  { weight: 2, arbitrary: fc.constantFrom(';a=b', ';a', ';', ';a="b c"', '; a=b', ';a=\u0001', ';a=b\n', ';a=b;c=d') },
);

const chunk: fc.Arbitrary<ChunkSpec> = bodyData.chain((data) => fc.record({ size: chunkSize(data), ext: chunkExt, data: fc.constant(data) }));

const requestSpec: fc.Arbitrary<RequestSpec> = fc
  .record({
    method: fc.constantFrom(...METHODS),
    target: fc.constantFrom('/f', '/f?a=1', '/f/x', '*', 'http://127.0.0.1/f', '/f#x', '/f%00', '//f'),
    version: fc.oneof(
      { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
      { weight: 2, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ') },
    ),
    host: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    extra: fc.array(header, { maxLength: 3 }),
    framing: fc.constantFrom('none', 'cl', 'chunked', 'cl+te', 'te+cl', 'cl+cl', 'te+te', 'raw'),
    data: bodyData,
    chunks: fc.array(chunk, { maxLength: 3 }),
    last: fc.oneof({ weight: 6, arbitrary: fc.constant('0') }, { weight: 1, arbitrary: fc.constantFrom('00', '0;x=y', '000000000000000000000', '0 ') }),
    trailers: fc.oneof({ weight: 4, arbitrary: fc.constant([] as [string, string][]) }, { weight: 1, arbitrary: fc.array(header, { maxLength: 2 }) }),
    teValue: fc.oneof({ weight: 5, arbitrary: fc.constant('chunked') }, { weight: 2, arbitrary: fc.constantFrom(...TE_VALUES) }),
    clDelta: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }),
    eol: fc.oneof({ weight: 12, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constantFrom('\n', '\r', '\r\r\n') }),
  })
  .map((r): RequestSpec => {
    const headers: [string, string][] = [];
    if (r.host) headers.push(['Host', '127.0.0.1']);
    const cl = String(Math.max(0, r.data.length + r.clDelta));
    let body: RequestSpec['body'] = { kind: 'none' };
    const chunked: RequestSpec['body'] = { kind: 'chunked', chunks: r.chunks, last: r.last, trailers: r.trailers };
    switch (r.framing) {
      case 'cl':
        headers.push(['Content-Length', cl]);
        body = { kind: 'raw', data: r.data };
        break;
      case 'chunked':
        headers.push(['Transfer-Encoding', r.teValue]);
        body = chunked;
        break;
      case 'cl+te':
        headers.push(['Content-Length', cl], ['Transfer-Encoding', r.teValue]);
        body = chunked;
        break;
      case 'te+cl':
        headers.push(['Transfer-Encoding', r.teValue], ['Content-Length', cl]);
        body = { kind: 'raw', data: r.data };
        break;
      case 'cl+cl':
        headers.push(['Content-Length', cl], ['Content-Length', String(r.data.length)]);
        body = { kind: 'raw', data: r.data };
        break;
      case 'te+te':
        headers.push(['Transfer-Encoding', 'chunked'], ['Transfer-Encoding', r.teValue]);
        body = chunked;
        break;
      case 'raw':
        body = { kind: 'raw', data: r.data };
        break;
      default:
    }
    headers.push(...r.extra);
    return { method: r.method, target: r.target, version: r.version, headers, body, eol: r.eol };
  });

const INTERESTING_BYTES = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x3a, 0x3b, 0x2c, 0x7f, 0x80, 0xff, 0x30, 0x41];

const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.integer({ min: 0, max: 255 })) }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.constantFrom(
      '\r\n',
      '\n',
      ' ',
      '\t',
      '\0',
      ':',
      'Transfer-Encoding: chunked\r\n',
      'Content-Length: 1\r\n',
      '0\r\n\r\n',
      'GET /s HTTP/1.1\r\nHost: x\r\n\r\n',
    ),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 3 }) }),
);

/** The request fuzzer's cases. */
export const requestCase: fc.Arbitrary<RequestCase> = fc.record({
  requests: fc.array(requestSpec, { minLength: 1, maxLength: 3 }),
  edits: fc.oneof({ weight: 3, arbitrary: fc.constant([] as ByteEdit[]) }, { weight: 2, arbitrary: fc.array(byteEdit, { minLength: 1, maxLength: 3 }) }),
  splits: fc.oneof(
    { weight: 2, arbitrary: fc.constant([] as number[]) },
    { weight: 3, arbitrary: fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 4 }) },
  ),
});

/** Serializes one request spec (latin1 text); `/f` in the target becomes
 * `/f<index>`, so each request of a case has its own target. */
export function serializeRequest(r: RequestSpec, index = 0): string {
  const eol = r.eol;
  let s = `${r.method} ${r.target.replace('/f', `/f${index}`)} ${r.version}${eol}`;
  for (const [n, v] of r.headers) s += `${n}: ${v}${eol}`;
  s += eol;
  if (r.body.kind === 'raw') s += r.body.data;
  else if (r.body.kind === 'chunked') {
    for (const c of r.body.chunks) s += `${c.size}${c.ext}\r\n${c.data}\r\n`;
    s += `${r.body.last}\r\n`;
    for (const [n, v] of r.body.trailers) s += `${n}: ${v}\r\n`;
    s += '\r\n';
  }
  return s;
}

/** Applies byte edits in order; positions wrap around the current length. */
export function applyEdits(bytes: Buffer, edits: readonly ByteEdit[]): Buffer {
  let b = bytes;
  for (const e of edits) {
    if (b.length === 0) break;
    const at = e.at % b.length;
    if (e.op === 'set') {
      b = Buffer.from(b);
      b[at] = e.byte;
    } else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes, 'latin1'), b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + e.count))]);
  }
  return b;
}

/** The bytes a case sends, cut into the writes it makes (none empty). */
export function caseWrites(c: RequestCase): Buffer[] {
  const whole = applyEdits(Buffer.from(c.requests.map((r, i) => serializeRequest(r, i)).join(''), 'latin1'), c.edits);
  return splitAt(whole, c.splits);
}

/** Cuts `bytes` at fractions of its length (duplicates and ends dropped). */
export function splitAt(bytes: Buffer, fractions: readonly number[]): Buffer[] {
  const cuts = [...new Set(fractions.map((f) => Math.floor(f * bytes.length)))].filter((x) => x > 0 && x < bytes.length).sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const c of cuts) {
    parts.push(bytes.subarray(from, c));
    from = c;
  }
  if (from < bytes.length) parts.push(bytes.subarray(from));
  return parts;
}
