/**
 * Backend-response protocol edges over raw sockets: interim 1xx responses,
 * HEAD/204/304 responses that announce or send a body, heads with bytes HTTP
 * does not allow, and a backend that fails after its head but before any
 * body byte (the client still gets a status).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MetricName } from '../../common/metric-names.js';
import { captureLogs, httpRequest, scrape, waitFor, withBalancer } from './lb-helpers.js';
import { rawBackend, rawExchange, type RawBackend } from './raw-backend.js';

captureLogs();

async function scripted(t: { after(fn: () => Promise<void> | void): void }, byPath: Record<string, string>): Promise<RawBackend> {
  const b = await rawBackend((head, s) => {
    const path = /^\S+ (\S+)/.exec(head)?.[1] ?? '';
    s.write(byPath[path] ?? 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext');
  });
  t.after(() => b.close());
  return b;
}

/** Responses in the raw bytes a client read: status lines, in order. */
function statusLines(raw: string): string[] {
  return raw.split('\r\n').filter((l) => /^HTTP\/1\.1 \d{3}/.test(l));
}

describe('interim responses', () => {
  it('100 Continue and 103 Early Hints before the final response: the client gets exactly the final one', async (t) => {
    const b = await scripted(t, {
      '/continue': 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 7\r\n\r\ncreated',
      '/hints':
        'HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.js>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfine',
    });
    const lb = await withBalancer(t, b);
    const cont = await rawExchange(lb.port, 'GET /continue HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(statusLines(cont), ['HTTP/1.1 201 Created']);
    assert.ok(cont.endsWith('\r\n\r\ncreated'), cont);
    const hints = await rawExchange(lb.port, 'GET /hints HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(statusLines(hints), ['HTTP/1.1 200 OK']);
    assert.ok(hints.endsWith('\r\n\r\nfine'), hints);
    const m = await scrape(lb.metricsPort);
    assert.equal(m.get(MetricName.errors), 0);
    assert.equal(m.get(MetricName.requests, { code: '200' }), 1);
    assert.equal(m.get(MetricName.requests, { code: '201' }), 1);
    // Both interim responses and the final one came on one reused connection.
    assert.equal(b.connections, 1);
  });
});

describe('responses without a body that announce or send one', () => {
  const SMUGGLED = 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil';

  /**
   * One pooled socket (pool.maxConnections 1): `first` is answered after
   * 50 ms with `reply`, while GET /after waits in the queue for that socket;
   * resolves both answers as the clients saw them.
   */
  async function queuedBehind(
    t: { after(fn: () => Promise<void> | void): void },
    method: string,
    reply: string,
    afterDelayMs = 0,
  ): Promise<{ first: Awaited<ReturnType<typeof httpRequest>>; after: Awaited<ReturnType<typeof httpRequest>>; b: RawBackend }> {
    const b = await rawBackend((head, s) => {
      if (head.startsWith(`${method} /first`)) setTimeout(() => s.write(reply), 50);
      else setTimeout(() => s.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext'), afterDelayMs);
    });
    t.after(() => b.close());
    const lb = await withBalancer(t, b, { pool: { maxConnections: 1 } });
    const first = httpRequest(`http://127.0.0.1:${lb.port}/first`, { method });
    // /first must reach the backend ahead of /after: wait until it has (a 15 ms
    // sleep did not ensure that on a busy runner).
    await waitFor(() => b.heads.length === 1, 10_000, { what: '/first at the backend' });
    const after = httpRequest(`http://127.0.0.1:${lb.port}/after`);
    return { first: await first, after: await after, b };
  }

  it('a 204 with a length and bytes after it: no body to the client, and the bytes never become the next answer', async (t) => {
    const { first, after, b } = await queuedBehind(t, 'GET', `HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n${SMUGGLED}`);
    assert.equal(first.status, 204);
    assert.equal(first.body, '');
    assert.equal(after.body, 'next');
    assert.equal(b.connections, 2);
  });

  it('a 204 that announces a body sent later: the connection is not reused', async (t) => {
    const b = await rawBackend((head, s) => {
      if (head.startsWith('GET /nc')) {
        s.write('HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n');
        setTimeout(() => s.write(SMUGGLED), 30);
      } else setTimeout(() => s.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext'), 100);
    });
    t.after(() => b.close());
    const lb = await withBalancer(t, b);
    assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/nc`)).status, 204);
    assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/after`)).body, 'next');
    assert.equal(b.connections, 2);
  });

  it('a 304 with body bytes: the head is forwarded without them, the next request is not spoiled', async (t) => {
    const { first, after, b } = await queuedBehind(t, 'GET', 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 4\r\n\r\nbody');
    assert.equal(first.status, 304);
    assert.equal(first.headers.etag, '"x"');
    assert.equal(first.body, '');
    assert.equal(after.status, 200);
    assert.equal(after.body, 'next');
    assert.equal(b.connections, 2);
  });

  it('HEAD answered with body bytes: the length is forwarded, not the bytes; the next request is not spoiled', async (t) => {
    const { first, after, b } = await queuedBehind(t, 'HEAD', 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody');
    assert.equal(first.status, 200);
    assert.equal(first.headers['content-length'], '4');
    assert.equal(first.body, '');
    assert.equal(after.status, 200);
    assert.equal(after.body, 'next');
    assert.equal(b.connections, 2);
  });

  it('a HEAD with a length and no stray bytes keeps its connection', async (t) => {
    const { first, after, b } = await queuedBehind(t, 'HEAD', 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n');
    assert.equal(first.headers['content-length'], '4');
    assert.equal(after.body, 'next');
    assert.equal(b.connections, 1);
  });
});

describe('heads that cannot be forwarded: 502, never forwarded, the worker keeps serving', () => {
  const cases: [string, string][] = [
    ['a control byte in the reason phrase', 'HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok'],
    ['a control byte in the reason phrase of an interim response', 'HTTP/1.1 103 Ear\x7fly\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
    ['a control byte in a field value', 'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 2\r\n\r\nok'],
    ['a field name that is not a token', 'HTTP/1.1 200 OK\r\nX A: b\r\nContent-Length: 2\r\n\r\nok'],
    ['both Content-Length and Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
  ];
  for (const [what, bytes] of cases) {
    it(what, async (t) => {
      const b = await scripted(t, { '/bad': bytes });
      const lb = await withBalancer(t, b);
      const raw = await rawExchange(lb.port, 'GET /bad HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.deepEqual(statusLines(raw), ['HTTP/1.1 502 Bad Gateway'], JSON.stringify(raw));
      assert.equal(/\r\nX-A:|\r\nX A:|O\x01K/.test(raw), false, 'nothing of the bad head is forwarded');
      assert.equal((await scrape(lb.metricsPort)).get(MetricName.errors, { kind: 'bad_response' }), 1);
      assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/after`)).body, 'next');
    });
  }
});

describe('a backend that fails after its head, before any body byte', () => {
  it('closes: the client gets 502, not a cut connection', async (t) => {
    const b = await rawBackend((head, s) => {
      if (head.startsWith('GET /cut')) s.end('HTTP/1.1 200 OK\r\nX-Head: sent\r\nContent-Length: 10\r\n\r\n');
      else s.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext');
    });
    t.after(() => b.close());
    const lb = await withBalancer(t, b);
    const raw = await rawExchange(lb.port, 'GET /cut HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(statusLines(raw), ['HTTP/1.1 502 Bad Gateway'], JSON.stringify(raw));
    assert.equal(raw.includes('X-Head'), false);
    assert.equal((await scrape(lb.metricsPort)).get(MetricName.requests, { code: '502' }), 1);
  });

  it('stalls: the client gets 504 after timeouts.bodyMs', async (t) => {
    const b = await scripted(t, { '/stall': 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n' });
    const lb = await withBalancer(t, b, { timeouts: { bodyMs: 200 } });
    const raw = await rawExchange(lb.port, 'GET /stall HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 3_000);
    assert.deepEqual(statusLines(raw), ['HTTP/1.1 504 Gateway Timeout'], JSON.stringify(raw));
  });

  it('after the first body byte the head is out: the connection is cut, as HTTP leaves no other signal', async (t) => {
    const b = await scripted(t, { '/part': 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc' });
    const lb = await withBalancer(t, b, { timeouts: { bodyMs: 200 } });
    const raw = await rawExchange(lb.port, 'GET /part HTTP/1.1\r\nHost: x\r\n\r\n', 3_000);
    assert.deepEqual(statusLines(raw), ['HTTP/1.1 200 OK']);
    assert.ok(raw.endsWith('\r\n\r\nabc'), JSON.stringify(raw));
  });
});
