import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { LineRing, forEachLine, prefixLine } from '../../harness/services/log-prefix.js';
import { probeHttp } from '../../harness/services/services.js';

test('forEachLine splits chunks into lines, handles CRLF, split UTF-8 and a last unterminated line', async () => {
  const stream = new PassThrough();
  const lines: string[] = [];
  forEachLine(stream, (l) => lines.push(l));
  const euro = Buffer.from('€');
  stream.write('one\r\ntw');
  stream.write('o\nthree ');
  stream.write(euro.subarray(0, 1));
  stream.write(Buffer.concat([euro.subarray(1), Buffer.from('\nlast')]));
  stream.end();
  await new Promise((r) => stream.on('end', r));
  assert.deepEqual(lines, ['one', 'two', 'three €', 'last']);
});

test('prefixLine pads names; LineRing keeps the last lines', () => {
  assert.equal(prefixLine('lb', 'hello', 6), 'lb     | hello');
  const ring = new LineRing(2);
  for (const l of ['a', 'b', 'c']) ring.push(l);
  assert.deepEqual(ring.toArray(), ['b', 'c']);
});

const server = http.createServer((req, res) => {
  if (req.url === '/hang') return;
  res.statusCode = req.url === '/down' ? 503 : 200;
  res.end('x');
});
after(() => {
  server.closeAllConnections();
  server.close();
});

test('probeHttp gives the status, or undefined when nothing answers in time', async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  assert.equal(await probeHttp(`http://127.0.0.1:${port}/`), 200);
  assert.equal(await probeHttp(`http://127.0.0.1:${port}/down`), 503);
  assert.equal(await probeHttp(`http://127.0.0.1:${port}/hang`, 200), undefined);
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  assert.equal(await probeHttp(`http://127.0.0.1:${closedPort}/`), undefined);
});
