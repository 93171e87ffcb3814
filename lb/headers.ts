/**
 * Header rewriting for both directions. Hop-by-hop fields are stripped as
 * RFC 9110 §7.6.1 says (Connection and every field it names, Keep-Alive,
 * Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade); the request
 * gains X-Forwarded-For/-Proto/-Host and Via, the response gains Via.
 * Works on Node's flat raw header arrays, so nothing builds a header object.
 */

/** The Via entry this proxy adds. */
export const VIA = '1.1 lbbench';

/** What the request scan found; one object is reused per request. */
export interface RequestHeaderInfo {
  /** The request has a body (non-zero Content-Length or any Transfer-Encoding). */
  hasBody: boolean;
  /** Value of the configured hash header, if present. */
  hashKey: string | undefined;
  /** The body comes with Transfer-Encoding (chunked), not Content-Length. */
  chunked: boolean;
  /** The request has a Host header. */
  hasHost: boolean;
}

/** Fields that never travel past this hop (lower case). */
function isHopByHop(lower: string): boolean {
  switch (lower) {
    case 'connection':
    case 'keep-alive':
    case 'proxy-connection':
    case 'te':
    case 'trailer':
    case 'transfer-encoding':
    case 'upgrade':
      return true;
    default:
      return false;
  }
}

/** Tokens of a Connection header other than the common `keep-alive`/`close`. */
function connectionTokens(value: string, into: string[] | null): string[] | null {
  const lower = value.toLowerCase();
  if (lower === 'keep-alive' || lower === 'close') return into;
  for (const part of lower.split(',')) {
    const t = part.trim();
    if (t && t !== 'keep-alive' && t !== 'close') (into ??= []).push(t);
  }
  return into;
}

function dropNamed(headers: string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] ?? '';
    if (!names.includes(name.toLowerCase())) out.push(name, headers[i + 1] ?? '');
  }
  return out;
}

/**
 * Builds the upstream request's header block from the client's
 * `req.rawHeaders`: every field as `name: value\r\n`, without the final
 * empty line. Keeps Host as the client sent it. `hashHeader` is the
 * lower-case name of the consistent-hash header, or undefined. Fills `info`.
 * Names and values come from Node's parser, which refused CR, LF and NUL.
 */
export function buildUpstreamHeaderBlock(raw: readonly string[], clientIp: string, hashHeader: string | undefined, info: RequestHeaderInfo): string {
  const headers = buildUpstreamHeaders(raw, clientIp, hashHeader, info);
  let block = '';
  for (let i = 0; i < headers.length; i += 2) block += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return block;
}

/**
 * Builds the upstream request headers from the client's `req.rawHeaders`
 * as a flat [name, value, ...] list (see buildUpstreamHeaderBlock).
 */
export function buildUpstreamHeaders(raw: readonly string[], clientIp: string, hashHeader: string | undefined, info: RequestHeaderInfo): string[] {
  const out: string[] = [];
  let listed: string[] | null = null;
  let xff: string | undefined;
  let via: string | undefined;
  let host: string | undefined;
  info.hasBody = false;
  info.hashKey = undefined;
  info.chunked = false;
  info.hasHost = false;
  // A flat [name, value, ...] list: a name without its value (never from the parser) is dropped.
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const value = raw[i + 1] ?? '';
    const lower = name.toLowerCase();
    switch (lower) {
      case 'host':
        host = value;
        info.hasHost = true;
        out.push(name, value);
        continue;
      case 'content-length': {
        // Forwarded in canonical form: `03` and `3` mean the same to this
        // parser, but a backend that reads leading zeros another way (octal)
        // would frame the body differently.
        const length = value.replace(/^0+(?=\d)/, '');
        if (length !== '0') info.hasBody = true;
        out.push(name, length);
        continue;
      }
      case 'transfer-encoding':
        // Node's parser refused TE together with Content-Length, so this body is chunked.
        info.hasBody = true;
        info.chunked = true;
        continue;
      case 'connection':
        listed = connectionTokens(value, listed);
        continue;
      case 'x-forwarded-for':
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      case 'via':
        via = via === undefined ? value : `${via}, ${value}`;
        continue;
      case 'x-forwarded-proto':
      case 'x-forwarded-host':
      case 'expect':
        continue;
      default:
        if (isHopByHop(lower)) continue;
        if (lower === hashHeader) info.hashKey = value;
        out.push(name, value);
    }
  }
  const headers = listed === null ? out : dropNamed(out, listed);
  headers.push('x-forwarded-for', xff === undefined ? clientIp : `${xff}, ${clientIp}`, 'x-forwarded-proto', 'http');
  if (host !== undefined) headers.push('x-forwarded-host', host);
  headers.push('via', via === undefined ? VIA : `${via}, ${VIA}`);
  return headers;
}

/**
 * Builds the client response headers from the backend's raw response
 * headers (the parser's flat [name, value, ...] list). Appends this proxy
 * to Via.
 */
export function buildClientHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  let listed: string[] | null = null;
  let via: string | undefined;
  // A flat [name, value, ...] list: a name without its value (never from the parser) is dropped.
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const value = raw[i + 1] ?? '';
    const lower = name.toLowerCase();
    if (lower === 'connection') {
      listed = connectionTokens(value, listed);
      continue;
    }
    if (lower === 'via') {
      via = via === undefined ? value : `${via}, ${value}`;
      continue;
    }
    if (isHopByHop(lower)) continue;
    out.push(name, value);
  }
  const headers = listed === null ? out : dropNamed(out, listed);
  headers.push('via', via === undefined ? VIA : `${via}, ${VIA}`);
  return headers;
}

/** A byte outside HTAB, SP, VCHAR and obs-text (RFC 9110 §5.5, §15; RFC 9112 §4). */
const NOT_FIELD_TEXT = /[^\t\x20-\x7e\x80-\xff]/;
/** A field name that is not a token (RFC 9110 §5.1). */
const NOT_TOKEN = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Why a backend's response head cannot be forwarded, or null when it can:
 * a reason phrase or field value with a control byte, an empty field name or
 * one that is not a token. Node's parser lets some of these through (a
 * control byte in the reason phrase); forwarding them would hand the client
 * a head it may read differently, so the balancer answers 502 instead.
 */
export function invalidResponseHead(statusText: string, raw: readonly string[]): string | null {
  if (NOT_FIELD_TEXT.test(statusText)) return `a byte HTTP does not allow in the reason phrase ${JSON.stringify(statusText)}`;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (name.length === 0 || NOT_TOKEN.test(name)) return `an invalid field name ${JSON.stringify(name)}`;
    if (NOT_FIELD_TEXT.test(raw[i + 1] ?? '')) return `a byte HTTP does not allow in the value of ${name}`;
  }
  return null;
}
