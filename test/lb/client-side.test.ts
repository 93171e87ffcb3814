/**
 * The balancer's client side over raw sockets (lb/client-connection.ts,
 * lb/client-server.ts): keep-alive and pipelining, HTTP/1.0, framing of the
 * response, request refusals (400, 408, 413, 417, 431, 501, 503, 505),
 * absolute-form targets, Expect, backpressure, drain.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type http from 'node:http';
import { MetricName } from '../../common/metric-names.js';
import { clientParsersInUse } from '../../lb/client-connection.js';
import { CATCH_UP_MS, CUTS_PER_TICK } from '../../lb/client-server.js';
import { startBalancer, type RunningBalancer } from '../../lb/standalone.js';
import { headerValues, parseResponses, type ReferenceMessage } from '../fuzz/http-reference.js';
import { captureLogs, closedPort, lbConfigFor, scrape, startBackend, waitFor, type Handler, type TestBackend } from './lb-helpers.js';

captureLogs();

interface Rig {
  backend: TestBackend;
  lb: RunningBalancer;
}

async function rig(t: { after(fn: () => Promise<void> | void): void }, handler?: Handler, extra: Record<string, unknown> = {}): Promise<Rig> {
  const backend = await startBackend('a', handler);
  t.after(() => backend.close());
  const lb = await startBalancer(lbConfigFor([backend], extra));
  t.after(() => lb.close(200));
  return { backend, lb };
}

interface RawResult {
  data: Buffer;
  /** The balancer closed the connection. */
  closed: boolean;
}

/**
 * Sends `writes` (each its own write, `gapMs` apart) and collects what comes
 * back until the balancer closes, `done(data)` holds, or `capMs` passes.
 */
function raw(port: number, writes: (string | Buffer)[], opts: { done?: (data: Buffer) => boolean; capMs?: number; gapMs?: number } = {}): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const s = net.connect(port, '127.0.0.1');
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(cap);
      s.destroy();
      resolve({ data: Buffer.concat(chunks), closed });
    };
    const cap = setTimeout(() => finish(false), opts.capMs ?? 3_000);
    const send = async () => {
      for (const w of writes) {
        if (s.destroyed) return;
        s.write(w);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
    };
    s.on('connect', () => void send());
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      if (opts.done?.(Buffer.concat(chunks))) finish(false);
    });
    s.on('end', () => finish(true));
    s.on('error', (err) => (settled ? undefined : reject(err)));
  });
}

/** The final responses in `data` (the connection closed at its end when `closed`). */
function finals(r: RawResult): ReferenceMessage[] {
  const parsed = parseResponses(r.data, { closed: r.closed });
  assert.notEqual(parsed.end, 'error', `not HTTP: ${r.data.toString('latin1')}`);
  return parsed.messages.filter((m) => !m.interim);
}

const finalsAtLeast = (n: number) => (d: Buffer) => parseResponses(d).messages.filter((m) => !m.interim).length >= n;

function header(m: ReferenceMessage | undefined, name: string): string | undefined {
  assert.ok(m, 'a response');
  return headerValues(m.headers, name)[0];
}

function echoed(m: ReferenceMessage | undefined): { method: string; url: string; headers: http.IncomingHttpHeaders; body: string } {
  assert.ok(m, 'a response');
  return JSON.parse(m.body.toString()) as { method: string; url: string; headers: http.IncomingHttpHeaders; body: string };
}

async function errorCount(lb: RunningBalancer, kind: string): Promise<number> {
  return (await scrape(lb.metricsPort)).get(MetricName.errors, { kind });
}

describe('client side: keep-alive and pipelining', () => {
  it('serves sequential requests on one HTTP/1.1 connection', async (t) => {
    const { lb } = await rig(t);
    const r = await raw(lb.port, ['GET /one HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /two HTTP/1.1\r\nHost: x\r\n\r\n'], { done: finalsAtLeast(2), gapMs: 100 });
    const [a, b] = finals(r);
    assert.equal(a?.status, 200);
    assert.equal(echoed(a).url, '/one');
    assert.equal(echoed(b).url, '/two');
    assert.equal(r.closed, false);
    assert.equal(header(a, 'connection'), undefined);
  });

  it('holds a request parser only while a request is read or served: idle keep-alive connections hold none', async (t) => {
    const { lb } = await rig(t);
    const before = clientParsersInUse();
    const sockets: net.Socket[] = [];
    t.after(() => sockets.forEach((s) => s.destroy()));
    const replies = (s: net.Socket, n: number) => {
      let text = '';
      return new Promise<string>((resolve) => {
        const onData = (d: Buffer) => {
          text += d.toString('latin1');
          if (text.split('HTTP/1.1 200').length - 1 >= n) {
            s.off('data', onData);
            resolve(text);
          }
        };
        s.on('data', onData);
      });
    };
    for (let i = 0; i < 20; i++) {
      const s = net.connect(lb.port, '127.0.0.1');
      sockets.push(s);
      await new Promise((r) => s.once('connect', r));
      const got = replies(s, 1);
      s.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
      await got;
    }
    await waitFor(() => clientParsersInUse() === before, 5_000, { what: 'every idle connection gave its parser back' });
    // A head split across reads after the idle spell is still one request;
    // its connection holds a parser from the first byte until it is answered.
    const s = sockets[0];
    assert.ok(s);
    const got = replies(s, 1);
    s.write('GET /sec');
    await waitFor(() => clientParsersInUse() === before + 1, 5_000, { what: 'a parser held for a head in progress' });
    s.write('ond HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(await got, /"url":"\/second"/);
    await waitFor(() => clientParsersInUse() === before, 5_000, { what: 'given back after the answer' });
    assert.equal(sockets.filter((c) => c.destroyed).length, 0);
  });

  it('answers pipelined requests in order, even when the first is the slowest', async (t) => {
    const { lb } = await rig(t, (req, res) => {
      const body = req.url ?? '';
      setTimeout(() => res.end(body), req.url === '/slow' ? 300 : 0);
    });
    const r = await raw(
      lb.port,
      ['GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nPOST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi'],
      {
        done: finalsAtLeast(3),
      },
    );
    assert.deepEqual(
      finals(r).map((m) => m.body.toString()),
      ['/slow', '/b', '/c'],
    );
  });

  it('closes after a response to an HTTP/1.0 request without keep-alive, keeps it open with one', async (t) => {
    const { lb } = await rig(t);
    const plain = await raw(lb.port, ['GET /a HTTP/1.0\r\nHost: x\r\n\r\n']);
    assert.equal(plain.closed, true);
    const [p] = finals(plain);
    assert.equal(p?.status, 200);
    assert.equal(header(p, 'connection'), 'close');

    const ka = await raw(
      lb.port,
      ['GET /a HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n', 'GET /b HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n'],
      {
        done: finalsAtLeast(2),
        gapMs: 100,
      },
    );
    const [a, b] = finals(ka);
    assert.equal(header(a, 'connection'), 'keep-alive');
    assert.equal(echoed(b).url, '/b');
    assert.equal(ka.closed, false);
  });

  it('closes after a request with Connection: close', async (t) => {
    const { lb } = await rig(t);
    const r = await raw(lb.port, ['GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\nHost: x\r\n\r\n']);
    assert.equal(r.closed, true);
    assert.deepEqual(
      finals(r).map((m) => m.status),
      [200],
    );
  });
});

describe('client side: answers without a backend', () => {
  it('keeps the connection open after a 503 answered at once (every backend down)', async (t) => {
    const port = await closedPort();
    const lb = await startBalancer(lbConfigFor([{ name: 'dead', url: `http://127.0.0.1:${port}` }], { retries: { max: 0 } }));
    t.after(() => lb.close(200));
    const first = await raw(lb.port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], { done: finalsAtLeast(1) });
    assert.equal(finals(first)[0]?.status, 502);
    const r = await raw(lb.port, ['GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /c HTTP/1.1\r\nHost: x\r\n\r\n'], {
      done: finalsAtLeast(3),
      gapMs: 100,
    });
    assert.deepEqual(
      finals(r).map((m) => m.status),
      [503, 503, 503],
    );
    assert.equal(r.closed, false);
  });
});

describe('client side: response framing', () => {
  const chunkedBackend: Handler = (_req, res) => {
    // No Content-Length: node's server sends it chunked to the balancer.
    res.write('hello ');
    setTimeout(() => res.end('world'), 20);
  };

  it('sends a response without a length chunked to an HTTP/1.1 client', async (t) => {
    const { lb } = await rig(t, chunkedBackend);
    const r = await raw(lb.port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], { done: finalsAtLeast(1) });
    const [m] = finals(r);
    assert.equal(header(m, 'transfer-encoding'), 'chunked');
    assert.equal(m?.body.toString(), 'hello world');
    assert.equal(r.closed, false);
  });

  it('sends it close-delimited to an HTTP/1.0 client, never chunked', async (t) => {
    const { lb } = await rig(t, chunkedBackend);
    for (const ka of ['', 'Connection: keep-alive\r\n']) {
      const r = await raw(lb.port, [`GET / HTTP/1.0\r\nHost: x\r\n${ka}\r\n`]);
      assert.equal(r.closed, true);
      const [m] = finals(r);
      assert.equal(header(m, 'transfer-encoding'), undefined);
      assert.equal(header(m, 'connection'), 'close');
      assert.equal(m?.body.toString(), 'hello world');
    }
  });

  it('adds a Date field when the backend sends none, and no second one', async (t) => {
    const { lb, backend } = await rig(t, (req, res) => {
      if (req.url === '/dated') res.setHeader('Date', 'Tue, 01 Dec 2026 00:00:00 GMT');
      res.end('x');
    });
    backend.server.on('request', (_req, res: http.ServerResponse) => (res.sendDate = false));
    const r = await raw(lb.port, ['GET /plain HTTP/1.1\r\nHost: x\r\n\r\nGET /dated HTTP/1.1\r\nHost: x\r\n\r\n'], { done: finalsAtLeast(2) });
    const [plain, dated] = finals(r);
    assert.ok(plain);
    assert.ok(dated);
    const plainDates = headerValues(plain.headers, 'date');
    assert.equal(plainDates.length, 1);
    assert.ok(Math.abs(Date.parse(plainDates[0] ?? '') - Date.now()) < 5_000, `Date ${plainDates[0]}`);
    assert.deepEqual(headerValues(dated.headers, 'date'), ['Tue, 01 Dec 2026 00:00:00 GMT']);
  });

  it('sends no body for HEAD and keeps the connection usable', async (t) => {
    const { lb } = await rig(t, (_req, res) => {
      res.setHeader('content-length', '5');
      res.end('hello');
    });
    const r = await raw(lb.port, ['HEAD / HTTP/1.1\r\nHost: x\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'], {
      done: (d) => d.toString('latin1').endsWith('hello'),
      gapMs: 150,
    });
    const text = r.data.toString('latin1');
    const heads = text.split('HTTP/1.1 200').length - 1;
    assert.equal(heads, 2, text);
    assert.equal(text.indexOf('hello'), text.length - 5, text);
  });
});

describe('client side: refusals', () => {
  const cases: [string, string, number][] = [
    ['unknown Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n', 501],
    ['gzip, chunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', 501],
    ['chunked not last', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n', 400],
    ['empty Transfer-Encoding next to Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\nContent-Length: 2\r\n\r\nhi', 400],
    ['Content-Length and Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['duplicate Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi', 400],
    ['conflicting Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi', 400],
    ['NUL in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n', 400],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n', 400],
    ['two Host fields', 'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n', 400],
    ['Transfer-Encoding in HTTP/1.0', 'POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['HTTP/2.0 in an HTTP/1 request line', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: x\r\n\r\n', 505],
    ['CONNECT', 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n', 501],
    ['an unknown expectation', 'GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n', 417],
  ];
  for (const [what, request, status] of cases) {
    it(`${what} -> ${status}, connection closed, nothing forwarded`, async (t) => {
      const { lb, backend } = await rig(t);
      const r = await raw(lb.port, [request]);
      const [m] = finals(r);
      assert.equal(m?.status, status);
      assert.equal(header(m, 'connection'), 'close');
      assert.equal(r.closed, true);
      assert.equal(backend.hits, 0);
      // The balancer still serves.
      const ok = await raw(lb.port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], { done: finalsAtLeast(1) });
      assert.equal(finals(ok)[0]?.status, 200);
    });
  }

  it('431 for a head over limits.maxHeaderBytes', async (t) => {
    const { lb, backend } = await rig(t, undefined, { limits: { maxHeaderBytes: 2048 } });
    const r = await raw(lb.port, [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`]);
    assert.equal(finals(r)[0]?.status, 431);
    assert.equal(backend.hits, 0);
    assert.equal(await errorCount(lb, 'headers_too_large'), 1);
  });

  it('413 at once for a Content-Length over limits.maxBodyBytes', async (t) => {
    const { lb, backend } = await rig(t, undefined, { limits: { maxBodyBytes: 100 } });
    const r = await raw(lb.port, ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n']);
    assert.equal(finals(r)[0]?.status, 413);
    assert.equal(r.closed, true);
    assert.equal(backend.hits, 0);
    const fits = await raw(lb.port, [`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n${'b'.repeat(100)}`], { done: finalsAtLeast(1) });
    assert.equal(echoed(finals(fits)[0]).body.length, 100);
    assert.equal(await errorCount(lb, 'body_too_large'), 1);
  });

  it('413 for a chunked body once its sum passes limits.maxBodyBytes', async (t) => {
    // The backend answers only after the whole body, so the 413 comes first.
    const { lb } = await rig(t, undefined, { limits: { maxBodyBytes: 100 } });
    const r = await raw(
      lb.port,
      ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', `3c\r\n${'c'.repeat(60)}\r\n`, `3c\r\n${'c'.repeat(60)}\r\n`],
      {
        gapMs: 50,
      },
    );
    assert.equal(finals(r)[0]?.status, 413);
    assert.equal(r.closed, true);
    assert.equal(await errorCount(lb, 'body_too_large'), 1);
  });

  it('408 for a request head not complete within timeouts.clientHeadersMs', async (t) => {
    const { lb, backend } = await rig(t, undefined, { timeouts: { clientHeadersMs: 300 } });
    const started = Date.now();
    const r = await raw(lb.port, ['GET / HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n'], { gapMs: 100, capMs: 5_000 });
    const took = Date.now() - started;
    assert.equal(finals(r)[0]?.status, 408);
    assert.equal(r.closed, true);
    assert.ok(took >= 250 && took < 2_000, `closed after ${took} ms`);
    assert.equal(backend.hits, 0);
    assert.equal(await errorCount(lb, 'timeout'), 1);
  });

  it('connections timing out together are cut CUTS_PER_TICK a sweep tick, oldest first, every one with its 408', async (t) => {
    const { lb } = await rig(t, undefined, { timeouts: { clientHeadersMs: 300 } });
    const swarm = CUTS_PER_TICK * 3;
    const sockets: net.Socket[] = [];
    t.after(() => sockets.forEach((s) => s.destroy()));
    const cuts: { index: number; atMs: number; data: string }[] = [];
    // One at a time, so that the balancer's accept order is the index order.
    for (let index = 0; index < swarm; index++) {
      const s = net.connect(lb.port, '127.0.0.1');
      sockets.push(s);
      let data = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => (data += d));
      s.on('close', () => cuts.push({ index, atMs: performance.now(), data }));
      s.on('error', () => {});
      await new Promise<void>((resolve) => s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n', () => resolve())));
    }
    await waitFor(() => cuts.length === swarm, 5_000, { what: 'every slow connection cut' });
    assert.ok(
      cuts.every((c) => c.data.startsWith('HTTP/1.1 408 ')),
      'each got its 408',
    );
    // Cuts of one tick arrive together; ticks are CATCH_UP_MS or more apart.
    const bursts: number[][] = [];
    let last = -Infinity;
    for (const c of [...cuts].sort((a, b) => a.atMs - b.atMs)) {
      if (c.atMs - last > CATCH_UP_MS / 2) bursts.push([]);
      bursts.at(-1)?.push(c.index);
      last = c.atMs;
    }
    assert.ok(bursts.length >= 3, `cut in ${bursts.length} bursts`);
    assert.ok(
      bursts.every((b) => b.length <= CUTS_PER_TICK),
      `bursts of ${bursts.map((b) => b.length).join(', ')}`,
    );
    assert.ok(Math.max(...(bursts[0] ?? [])) < Math.min(...(bursts.at(-1) ?? [])), 'the oldest connections go first');
  });

  it('408 for a request body with no byte for timeouts.clientBodyMs; a slow but steady body is served', async (t) => {
    const { lb } = await rig(t, undefined, { timeouts: { clientBodyMs: 300 } });
    const head = 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n';
    const started = Date.now();
    const stalled = await raw(lb.port, [head, 'abc'], { capMs: 5_000 });
    const took = Date.now() - started;
    assert.equal(finals(stalled)[0]?.status, 408);
    assert.equal(stalled.closed, true);
    assert.ok(took >= 250, `408 after ${took} ms, before the 300 ms gap passed`);
    assert.equal(await errorCount(lb, 'timeout'), 1);
    // Ten bytes 100 ms apart take 1 s in all, more than clientBodyMs, but no gap reaches it.
    const steady = await raw(lb.port, [head, ...'0123456789'], { gapMs: 100, capMs: 5_000, done: finalsAtLeast(1) });
    const answer = finals(steady)[0];
    assert.equal(answer?.status, 200);
    assert.match(answer?.body.toString() ?? '', /"body":"0123456789"/);
  });

  it('cuts a client that takes no byte of a response for timeouts.clientSendMs; a slow but steady reader gets it whole', async (t) => {
    const SIZE = 16 * 1024 * 1024;
    const body = Buffer.alloc(SIZE, 0x61);
    const { lb } = await rig(t, (_req, res) => res.end(body), { timeouts: { clientSendMs: 1_000, clientIdleMs: 300 } });
    const request = 'GET /big HTTP/1.1\r\nHost: x\r\n\r\n';
    // Never reads: every buffer between the backend and it fills, then nothing moves.
    const stuck = net.connect(lb.port, '127.0.0.1');
    t.after(() => stuck.destroy());
    stuck.on('error', () => {});
    stuck.pause();
    stuck.write(request);
    const took = await waitFor(async () => (await errorCount(lb, 'timeout')) === 1, 10_000, { what: 'the send timeout' });
    assert.ok(took >= 900, `cut after ${took} ms, before 1 s without progress`);
    await waitFor(async () => (await scrape(lb.metricsPort)).get(MetricName.activeConnections) === 0, 5_000, { what: 'the connection closed' });
    stuck.destroy();
    // About 8 MB/s in 50 ms steps: the kernel's buffers release space to the
    // balancer in bursts (of up to a third of a few MB), each well within
    // clientSendMs, so no cut, though the whole takes longer than
    // clientSendMs and far longer than clientIdleMs.
    const steady = net.connect(lb.port, '127.0.0.1');
    t.after(() => steady.destroy());
    let received = 0;
    let inWindow = 0;
    const pacer = setInterval(() => {
      inWindow = 0;
      steady.resume();
    }, 50);
    t.after(() => clearInterval(pacer));
    const whole = new Promise<number>((resolve) => {
      steady.on('data', (d: Buffer) => {
        received += d.length;
        inWindow += d.length;
        if (inWindow >= 400 * 1024) steady.pause();
      });
      steady.on('close', () => resolve(received));
      steady.on('error', () => {});
    });
    steady.write(request);
    const head = await new Promise<string>((resolve) => steady.once('data', (d: Buffer) => resolve(d.toString('latin1', 0, 200))));
    assert.match(head, /^HTTP\/1\.1 200/);
    // The idle timeout closes it once the response is flushed and read.
    const total = await whole;
    clearInterval(pacer);
    assert.ok(total > SIZE, `received ${total} bytes of a ${SIZE}-byte body and its head`);
    assert.equal(await errorCount(lb, 'timeout'), 1);
  });

  it('closes an idle keep-alive connection after timeouts.clientIdleMs, silently', async (t) => {
    const { lb } = await rig(t, undefined, { timeouts: { clientIdleMs: 300 } });
    const started = Date.now();
    const r = await raw(lb.port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], { capMs: 5_000 });
    const took = Date.now() - started;
    assert.equal(r.closed, true);
    assert.deepEqual(
      finals(r).map((m) => m.status),
      [200],
    );
    assert.ok(took >= 250 && took < 2_000, `closed after ${took} ms`);
  });
});

describe('client side: targets and Expect', () => {
  it('forwards an absolute-form target in origin form, its authority as Host', async (t) => {
    const { lb } = await rig(t);
    const r = await raw(
      lb.port,
      ['GET http://user@Example.test:8081/p/q?x=1 HTTP/1.1\r\nHost: other.test\r\n\r\n', 'OPTIONS http://example.test HTTP/1.1\r\nHost: x\r\n\r\n'],
      {
        done: finalsAtLeast(2),
      },
    );
    const [a, b] = finals(r).map(echoed);
    assert.equal(a?.url, '/p/q?x=1');
    assert.equal(a?.headers.host, 'Example.test:8081');
    assert.equal(a?.headers['x-forwarded-host'], 'Example.test:8081');
    assert.equal(b?.url, '*');
    assert.equal(b?.headers.host, 'example.test');
  });

  it('answers Expect: 100-continue with 100 Continue, then forwards the body', async (t) => {
    const { lb } = await rig(t);
    const r = await raw(lb.port, ['POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n'], {
      done: (d) => d.toString('latin1').startsWith('HTTP/1.1 100 Continue\r\n\r\n'),
    });
    assert.match(r.data.toString('latin1'), /^HTTP\/1\.1 100 Continue\r\n\r\n/);
    const full = await raw(lb.port, ['POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n', 'hello'], {
      done: finalsAtLeast(1),
      gapMs: 100,
    });
    const parsed = parseResponses(full.data).messages;
    assert.deepEqual(
      parsed.map((m) => m.status),
      [100, 200],
    );
    assert.equal(echoed(parsed[1]).body, 'hello');
    assert.equal(echoed(parsed[1]).headers.expect, undefined);
  });
});

describe('client side: connections', () => {
  it('refuses a connection above limits.maxConnections with 503 and Connection: close, counted as overload', async (t) => {
    const { lb } = await rig(t, undefined, { limits: { maxConnections: 2 } });
    const held = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(lb.port, '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    t.after(() => held.forEach((s) => s.destroy()));
    await waitFor(() => lb.core.counters.activeConnections === 2, 10_000, { what: 'two open connections' });
    const r = await raw(lb.port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n']);
    const [m] = finals(r);
    assert.equal(m?.status, 503);
    assert.equal(header(m, 'connection'), 'close');
    assert.equal(r.closed, true);
    assert.equal(await errorCount(lb, 'overload'), 1);
    held[0]?.destroy();
    await waitFor(() => lb.core.counters.activeConnections === 1, 10_000, { what: 'one connection closed' });
    const ok = await raw(lb.port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], { done: finalsAtLeast(1) });
    assert.equal(finals(ok)[0]?.status, 200);
  });

  it('counts open client connections in lb_active_connections', async (t) => {
    const { lb } = await rig(t);
    const sockets = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(lb.port, '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    await waitFor(async () => (await scrape(lb.metricsPort)).get(MetricName.activeConnections) === 3, 10_000, { what: '3 active connections' });
    sockets.forEach((s) => s.destroy());
    await waitFor(async () => (await scrape(lb.metricsPort)).get(MetricName.activeConnections) === 0, 10_000, { what: '0 active connections' });
  });

  it('stops reading the backend while the client does not read (response backpressure)', async (t) => {
    const total = 64 * 1024 * 1024;
    let written = 0;
    let stalled = false;
    const { lb } = await rig(t, (_req, res) => {
      res.setHeader('content-length', String(total));
      const chunk = Buffer.alloc(64 * 1024, 'z');
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) {
            stalled = true;
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const s = net.connect(lb.port, '127.0.0.1', () => s.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n'));
    t.after(() => s.destroy());
    s.pause();
    await waitFor(() => stalled, 5_000, { what: 'the backend to be stalled' });
    await new Promise((r) => setTimeout(r, 500));
    // Socket buffers on both sides hold a few MB at most.
    assert.ok(written < total / 4, `the backend wrote ${written} of ${total} bytes to a client that reads nothing`);
    let got = 0;
    s.on('data', (d: Buffer) => (got += d.length));
    s.resume();
    await waitFor(() => got >= total, 20_000, { what: 'the whole body once the client reads' });
  });

  it('stops reading an upload while the backend does not read it (request backpressure)', async (t) => {
    const total = 64 * 1024 * 1024;
    let backendGot = 0;
    let release: () => void = () => undefined;
    const { lb } = await rig(t, (req, res) => {
      req.pause();
      release = () => {
        req.on('data', (d: Buffer) => (backendGot += d.length));
        req.on('end', () => res.end(String(backendGot)));
        req.resume();
      };
    });
    const s = net.connect(lb.port, '127.0.0.1');
    t.after(() => s.destroy());
    const chunk = Buffer.alloc(256 * 1024, 'u');
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
    };
    let answer = '';
    s.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    s.on('connect', () => {
      s.write(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
      pump();
    });
    await waitFor(() => lb.core.counters.bytesIn > 0, 5_000, { what: 'the upload to start' });
    await new Promise((r) => setTimeout(r, 500));
    const taken = lb.core.counters.bytesIn;
    assert.ok(taken < total / 4, `the balancer took ${taken} of ${total} bytes for a backend that reads nothing`);
    assert.ok(sent < total, 'the client could write everything: nothing pushed back');
    release();
    await waitFor(() => answer.endsWith(`\r\n\r\n${total}`), 20_000, { what: 'the whole upload at the backend' });
  });

  it('drain: closes idle connections at once and in-flight ones after their response', async (t) => {
    const backend = await startBackend('slow', (_req, res) => setTimeout(() => res.end('done'), 300));
    t.after(() => backend.close());
    const lb = await startBalancer(lbConfigFor([backend]));
    const idle = await raw(lb.port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], { done: finalsAtLeast(1) });
    assert.equal(finals(idle)[0]?.status, 200);
    const idleSocket = await new Promise<net.Socket>((resolve) => {
      const s = net.connect(lb.port, '127.0.0.1', () => resolve(s));
    });
    const idleClosed = new Promise<void>((resolve) => idleSocket.on('close', () => resolve()));
    idleSocket.on('error', () => undefined);
    await waitFor(() => lb.core.counters.activeConnections === 1, 10_000, { what: 'the idle connection' });
    const inFlight = raw(lb.port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], { capMs: 5_000 });
    await waitFor(() => backend.hits === 2, 10_000, { what: 'the request at the backend' });
    const closing = lb.close(5_000);
    await idleClosed;
    const r = await inFlight;
    const [m] = finals(r);
    assert.equal(m?.body.toString(), 'done');
    assert.equal(header(m, 'connection'), 'close');
    assert.equal(r.closed, true);
    await closing;
  });
});
