/**
 * The upstream side spoken over raw sockets (upstream-connection.ts,
 * upstream-pool.ts): response framing and smuggling defences, interim
 * responses, HEAD, close-delimited and chunked bodies, header limits,
 * keep-alive reuse and its hints, the pool cap, early answers to uploads.
 * Backends here are scripted `net` servers that write exact bytes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { MetricName } from '../../common/metric-names.js';
import { captureLogs, httpRequest, scrape, withBalancer, startBackend, waitFor } from './lb-helpers.js';
import { rawBackend, rawExchange } from './raw-backend.js';
import { itemAt } from '../../common/checked.js';

captureLogs();

describe('upstream response framing', () => {
  it('refuses a response with both Content-Length and Transfer-Encoding (smuggling): 502', async (t) => {
    const b = await rawBackend((_h, s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'));
    t.after(() => b.close());
    const lb = await withBalancer(t, b);
    assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/`)).status, 502);
    assert.equal((await scrape(lb.metricsPort)).get(MetricName.errors, { kind: 'bad_response' }), 1);
  });

  it('refuses two different Content-Lengths: 502', async (t) => {
    const b = await rawBackend((_h, s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'));
    t.after(() => b.close());
    const lb = await withBalancer(t, b);
    assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/`)).status, 502);
  });

  it('refuses a response head over 64 KiB: 502', async (t) => {
    const b = await rawBackend((_h, s) => s.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}\r\nContent-Length: 2\r\n\r\nok`));
    t.after(() => b.close());
    const lb = await withBalancer(t, b);
    assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/`)).status, 502);
  });

  it('skips 1xx interim responses and forwards the final one', async (t) => {
    const b = await rawBackend((_h, s) =>
      s.write('HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfine'),
    );
    t.after(() => b.close());
    const lb = await withBalancer(t, b);
    const res = await httpRequest(`http://127.0.0.1:${lb.port}/`);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'fine');
  });

  it('forwards a chunked response whole, and one delimited by the connection closing', async (t) => {
    const b = await rawBackend((h, s) => {
      if (h.startsWith('GET /chunked')) s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n');
      else if (h.startsWith('GET /after')) s.write('HTTP/1.1 200 OK\r\nX-After: a\r\nContent-Length: 1\r\n\r\n!');
      else s.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end');
    });
    t.after(() => b.close());
    const lb = await withBalancer(t, b);
    const chunked = await httpRequest(`http://127.0.0.1:${lb.port}/chunked`);
    assert.equal(chunked.body, 'abcdefg');
    // The trailer is dropped, and does not leak into the next response on the connection.
    const after = await httpRequest(`http://127.0.0.1:${lb.port}/after`);
    assert.equal(after.headers['x-after'], 'a');
    assert.equal(after.headers['x-trailer'], undefined);
    assert.equal(after.rawHeaders.filter((h) => /x-trailer/i.test(h)).length, 0);
    const closed = await httpRequest(`http://127.0.0.1:${lb.port}/eof`);
    assert.equal(closed.status, 200);
    assert.equal(closed.body, 'until the end');
  });

  it('HEAD: a Content-Length with no body, and the connection is reused after it', async (t) => {
    const b = await rawBackend((h, s) => {
      if (h.startsWith('HEAD')) s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
      else s.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nget');
    });
    t.after(() => b.close());
    const lb = await withBalancer(t, b);
    const head = await httpRequest(`http://127.0.0.1:${lb.port}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '10');
    assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/`)).body, 'get');
    assert.equal(b.connections, 1);
  });
});

describe('upstream requests', () => {
  it('writes one well-formed head: request line, forwarded fields, Host for an HTTP/1.0 client without one', async (t) => {
    const b = await rawBackend((_h, s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    t.after(() => b.close());
    const lb = await withBalancer(t, b);
    const out = await rawExchange(lb.port, 'GET /old?q=1 HTTP/1.0\r\nX-A: 1\r\n\r\n');
    assert.match(out, /^HTTP\/1\.1 200/);
    const head = itemAt(b.heads, 0, 'b.heads[0]');
    assert.match(head, /^GET \/old\?q=1 HTTP\/1\.1\r\n/);
    assert.match(head, /\r\nX-A: 1\r\n/);
    assert.match(head, new RegExp(`\\r\\nhost: ${new URL(b.url).host}(\\r\\n|$)`));
    assert.match(head, /\r\nx-forwarded-for: 127\.0\.0\.1\r\n/);
  });

  it('a backend answering before it read the upload: the client gets the answer, the connection is not reused', async (t) => {
    const b = await rawBackend((_h, s) => s.write('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\n\r\nbig'));
    t.after(() => b.close());
    const lb = await withBalancer(t, b);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ port: lb.port, host: '127.0.0.1', method: 'POST', path: '/up', agent: false }, (r) => {
        let body = '';
        r.on('data', (d) => (body += d));
        r.on('end', () => resolve({ status: r.statusCode!, body }));
      });
      req.on('error', reject);
      // Chunked and never finished by us: only the early answer can end this.
      req.write('first part');
    });
    assert.equal(res.status, 413);
    assert.equal(res.body, 'big');
    assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/`)).status, 413);
    assert.equal(b.connections, 2);
  });
});

describe('upstream keep-alive', () => {
  it('reuses one connection for sequential requests, and honours a short Keep-Alive hint by not reusing', async (t) => {
    const reuse = await rawBackend((_h, s) => s.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok'));
    const short = await rawBackend((_h, s) => s.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok'));
    t.after(() => Promise.all([reuse.close(), short.close()]));
    const lb1 = await withBalancer(t, reuse);
    const lb2 = await withBalancer(t, short);
    for (let i = 0; i < 3; i++) {
      assert.equal((await httpRequest(`http://127.0.0.1:${lb1.port}/`)).status, 200);
      assert.equal((await httpRequest(`http://127.0.0.1:${lb2.port}/`)).status, 200);
    }
    assert.equal(reuse.connections, 1);
    // timeout=1 leaves no time inside the 1 s safety margin: closed after each response.
    assert.equal(short.connections, 3);
    assert.equal((await scrape(lb1.metricsPort)).get(MetricName.upstreamConnects), 1);
  });

  it('drops an idle connection the backend talks on unasked, and serves the next request on a fresh one', async (t) => {
    let firstClosed = false;
    const b = await rawBackend((_h, s, i) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      if (i === 0) {
        s.once('close', () => (firstClosed = true));
        setTimeout(() => s.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil'), 50);
      }
    });
    t.after(() => b.close());
    const lb = await withBalancer(t, b);
    assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/`)).body, 'ok');
    // The second request goes out only once the balancer has dropped the socket
    // that talked unasked (a 200 ms sleep did not ensure the bytes had arrived
    // by then on a busy runner); a balancer that keeps it never gets there.
    await waitFor(() => firstClosed, 10_000, { what: 'the balancer closing the upstream socket that talked unasked' });
    const second = await httpRequest(`http://127.0.0.1:${lb.port}/`);
    assert.equal(second.body, 'ok');
    assert.equal(b.connections, 2);
  });

  it('keeps at most pool.maxConnections sockets per backend; the rest wait their turn', async (t) => {
    let open = 0;
    let peak = 0;
    const slow = await startBackend('slow', (_req, res) => {
      open++;
      peak = Math.max(peak, open);
      setTimeout(() => {
        open--;
        res.end('done');
      }, 30);
    });
    t.after(() => slow.close());
    const lb = await withBalancer(t, slow, { pool: { maxConnections: 2 } });
    const results = await Promise.all(Array.from({ length: 10 }, () => httpRequest(`http://127.0.0.1:${lb.port}/`)));
    assert.deepEqual(
      results.map((r) => r.status),
      Array(10).fill(200),
    );
    assert.equal(peak, 2);
    assert.ok((await scrape(lb.metricsPort)).get(MetricName.upstreamConnects) <= 2);
  });
});
