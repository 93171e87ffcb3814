/**
 * A minimal incremental HTTP/1.1 response parser for the open-loop
 * generator's raw-socket transport. It understands exactly what a keep-alive
 * load generator needs: the status line, `Content-Length`, `Transfer-Encoding:
 * chunked` (with trailers), `Connection: close`, 1xx interim responses, and
 * bodiless responses (HEAD, 204, 304). Header values other than those are
 * skipped, never stored, so a response costs a few buffer scans.
 *
 * One parser per connection; responses arrive strictly in request order
 * (no pipelining), so the caller tells it before each request whether the
 * response may have a body (`expect(hasBody)`).
 *
 * Bodies are only counted: a body byte is never copied, concatenated or
 * decoded, so a 1 MiB response costs about as much as its head (the
 * closed-loop throughput runs depend on this). The parser keeps no reference
 * to a chunk after `execute` returns, so the caller may reuse one read
 * buffer for every connection.
 */

/** What one complete response looked like. */
export interface ParsedResponse {
  /** HTTP status code, e.g. 200. */
  status: number;
  /** Bytes on the wire for this response: status line, headers and body. */
  bytes: number;
  /** The server asked to close the connection (or sent HTTP/1.0 without keep-alive). */
  close: boolean;
}

/** The response was not valid HTTP/1.1; the connection must be dropped. */
export class ResponseParseError extends Error {
  readonly code = 'LBB_ERR_HTTP_PARSE';
  constructor(message: string) {
    super(message);
    this.name = 'ResponseParseError';
  }
}

/** Largest header block accepted, bytes. Larger is a parse error. */
export const MAX_HEADER_BYTES = 64 * 1024;

const CRLFCRLF = Buffer.from('\r\n\r\n');
const enum State {
  Head,
  Body,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
}

export class ResponseParser {
  private state = State.Head;
  /** Unconsumed bytes of an incomplete head, chunk-size line or trailer. */
  private pending: Buffer | undefined;
  private remaining = 0;
  private status = 0;
  private bytes = 0;
  private close = false;
  private headOnly = false;

  /** Tells the parser the next response belongs to a request whose response
   * has no body (`HEAD`). Call before sending each request. */
  expect(hasBody: boolean): void {
    this.headOnly = !hasBody;
  }

  /** True while part of a response has been seen but not all of it. */
  get inResponse(): boolean {
    return this.state !== State.Head || this.pending !== undefined;
  }

  /**
   * Feeds bytes; calls `onResponse` for each complete response. Throws
   * ResponseParseError on malformed input (the caller drops the connection).
   */
  execute(chunk: Buffer, onResponse: (r: ParsedResponse) => void): void {
    let start = 0;
    if (this.pending) {
      // Join only the bytes that finish the split token (a head or a chunk
      // line), never the body that follows it in the same chunk.
      const pending = this.pending;
      this.pending = undefined;
      start = this.bytesToFinishToken(pending, chunk);
      this.parse(Buffer.concat([pending, chunk.subarray(0, start)]), onResponse);
      if (this.pending) return;
    }
    this.parse(chunk, onResponse, start);
  }

  /**
   * How many leading bytes of `chunk` complete the token split off in
   * `pending`: up to and including its delimiter (CRLFCRLF after a head, LF
   * after a chunk-size or trailer line or a chunk's CR), or all of `chunk`
   * when the delimiter is not in it.
   */
  private bytesToFinishToken(pending: Buffer, chunk: Buffer): number {
    if (this.state === State.Head) {
      // The delimiter may straddle the two; the longest overlap ends first.
      for (let k = 3; k >= 1; k--) {
        if (pending.length >= k && chunk.length >= 4 - k && endsWithPrefix(pending, k) && startsWithSuffix(chunk, k)) return 4 - k;
      }
      const i = chunk.indexOf(CRLFCRLF);
      return i < 0 ? chunk.length : i + 4;
    }
    const i = chunk.indexOf(0x0a);
    return i < 0 ? chunk.length : i + 1;
  }

  private parse(buf: Buffer, onResponse: (r: ParsedResponse) => void, start = 0): void {
    let pos = start;
    while (pos < buf.length) {
      switch (this.state) {
        case State.Head: {
          const end = buf.indexOf(CRLFCRLF, pos);
          if (end < 0) {
            if (buf.length - pos > MAX_HEADER_BYTES) throw new ResponseParseError('header block too large');
            this.pending = Buffer.from(buf.subarray(pos));
            return;
          }
          const headLen = end + 4 - pos;
          this.parseHead(buf.toString('latin1', pos, end));
          this.bytes += headLen;
          pos = end + 4;
          if (this.status < 200) {
            // Interim response (100 Continue, 103 Early Hints): the real one
            // follows; its bytes count towards it.
            this.close = false;
            continue;
          }
          if (this.state === State.Head) this.finish(onResponse);
          break;
        }
        case State.Body: {
          const take = Math.min(this.remaining, buf.length - pos);
          this.remaining -= take;
          this.bytes += take;
          pos += take;
          if (this.remaining === 0) this.finish(onResponse);
          break;
        }
        case State.ChunkSize: {
          const eol = buf.indexOf(0x0a, pos);
          if (eol < 0) {
            if (buf.length - pos > 1024) throw new ResponseParseError('chunk size line too long');
            this.pending = Buffer.from(buf.subarray(pos));
            return;
          }
          // Chunk extensions after ';' are allowed and ignored.
          const line = buf.toString('latin1', pos, eol).replace(/\r$/, '');
          const semi = line.indexOf(';');
          const hex = (semi >= 0 ? line.slice(0, semi) : line).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new ResponseParseError(`bad chunk size ${JSON.stringify(hex)}`);
          this.remaining = parseInt(hex, 16);
          this.bytes += eol + 1 - pos;
          pos = eol + 1;
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, buf.length - pos);
          this.remaining -= take;
          this.bytes += take;
          pos += take;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd: {
          // The CRLF after each chunk's data; tolerate a bare LF.
          // pos < buf.length here (the loop's condition).
          const b = buf[pos];
          if (b === 0x0d) {
            if (pos + 1 >= buf.length) {
              this.pending = Buffer.from(buf.subarray(pos));
              return;
            }
            if (buf[pos + 1] !== 0x0a) throw new ResponseParseError('missing CRLF after chunk');
            pos += 2;
            this.bytes += 2;
          } else if (b === 0x0a) {
            pos += 1;
            this.bytes += 1;
          } else {
            throw new ResponseParseError('missing CRLF after chunk');
          }
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const eol = buf.indexOf(0x0a, pos);
          if (eol < 0) {
            if (buf.length - pos > MAX_HEADER_BYTES) throw new ResponseParseError('trailers too large');
            this.pending = Buffer.from(buf.subarray(pos));
            return;
          }
          const empty = eol === pos || (eol === pos + 1 && buf[pos] === 0x0d);
          this.bytes += eol + 1 - pos;
          pos = eol + 1;
          if (empty) this.finish(onResponse);
          break;
        }
        case State.UntilClose:
          this.bytes += buf.length - pos;
          return;
      }
    }
  }

  /**
   * The peer closed the connection. Returns the response that the close
   * completed (a body delimited by the close), or undefined. Throws
   * ResponseParseError when a response was cut short.
   */
  end(): ParsedResponse | undefined {
    if (this.state === State.UntilClose) {
      const r = { status: this.status, bytes: this.bytes, close: true };
      this.reset();
      return r;
    }
    if (this.inResponse) throw new ResponseParseError('connection closed mid-response');
    return undefined;
  }

  private parseHead(head: string): void {
    // Status line: HTTP/1.x SP 3DIGIT [SP reason]
    if (!head.startsWith('HTTP/1.')) throw new ResponseParseError(`bad status line ${JSON.stringify(head.slice(0, 40))}`);
    const status = Number(head.slice(9, 12));
    if (head.charCodeAt(8) !== 0x20 || !Number.isInteger(status) || status < 100 || status > 999) {
      throw new ResponseParseError(`bad status line ${JSON.stringify(head.slice(0, 40))}`);
    }
    this.status = status;
    const http10 = head.charCodeAt(7) === 0x30;
    let contentLength = -1;
    let chunked = false;
    let close = http10;
    let lineStart = head.indexOf('\n') + 1;
    while (lineStart > 0 && lineStart < head.length) {
      let lineEnd = head.indexOf('\n', lineStart);
      if (lineEnd < 0) lineEnd = head.length;
      const colon = head.indexOf(':', lineStart);
      if (colon > lineStart && colon < lineEnd) {
        const nameLen = colon - lineStart;
        // Only three headers matter; compare length first to skip the rest cheaply.
        if (nameLen === 14 || nameLen === 17 || nameLen === 10) {
          const name = head.slice(lineStart, colon).toLowerCase();
          const value = head
            .slice(colon + 1, lineEnd)
            .trim()
            .toLowerCase();
          if (name === 'content-length') {
            if (!/^\d{1,15}$/.test(value)) throw new ResponseParseError(`bad content-length ${JSON.stringify(value)}`);
            const n = Number(value);
            if (contentLength >= 0 && contentLength !== n) throw new ResponseParseError('conflicting content-length');
            contentLength = n;
          } else if (name === 'transfer-encoding') {
            chunked = value.slice(value.lastIndexOf(',') + 1).trim() === 'chunked';
          } else if (name === 'connection') {
            if (value.includes('close')) close = true;
            else if (http10 && value.includes('keep-alive')) close = false;
          }
        }
      }
      lineStart = lineEnd + 1;
    }
    this.close = close;
    if (status < 200) {
      this.state = State.Head;
      return;
    }
    if (this.headOnly || status === 204 || status === 304) {
      this.state = State.Head;
    } else if (chunked) {
      this.state = State.ChunkSize;
    } else if (contentLength >= 0) {
      this.remaining = contentLength;
      this.state = contentLength === 0 ? State.Head : State.Body;
    } else {
      // No length: the body runs until the server closes (RFC 9112 6.3).
      this.state = State.UntilClose;
      this.close = true;
    }
  }

  private finish(onResponse: (r: ParsedResponse) => void): void {
    const r = { status: this.status, bytes: this.bytes, close: this.close };
    this.reset();
    onResponse(r);
  }

  private reset(): void {
    this.state = State.Head;
    this.status = 0;
    this.bytes = 0;
    this.close = false;
    this.remaining = 0;
  }
}

/** `buf` ends with the first `k` bytes of CRLFCRLF. */
function endsWithPrefix(buf: Buffer, k: number): boolean {
  for (let i = 0; i < k; i++) if (buf[buf.length - k + i] !== CRLFCRLF[i]) return false;
  return true;
}

/** `buf` starts with the last `4 - k` bytes of CRLFCRLF. */
function startsWithSuffix(buf: Buffer, k: number): boolean {
  for (let i = k; i < 4; i++) if (buf[i - k] !== CRLFCRLF[i]) return false;
  return true;
}
