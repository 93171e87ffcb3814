import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { InvalidRunError } from '../../common/errors.js';
import { assertPortsFree, connectHost, findFreePort, isLoopbackHost, probePort } from '../../harness/services/ports.js';
import { isPortFree } from '../port-free.js';

function listen(host = '127.0.0.1'): Promise<net.Server> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, host, () => resolve(s));
  });
}
const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

test('a port held by a listener is busy, also when probed on the wildcard address', async () => {
  const s = await listen();
  servers.push(s);
  const { port } = s.address() as net.AddressInfo;
  assert.equal(await probePort(port, '127.0.0.1'), 'busy');
  assert.equal(await probePort(port, '0.0.0.0'), 'busy');
  assert.equal(await isPortFree(port), false);
});

test('findFreePort returns a port that is free', async () => {
  const port = await findFreePort();
  assert.ok(port > 0);
  assert.equal(await isPortFree(port, '127.0.0.1'), true);
});

test('an address that is not local is an error, not a busy port', async () => {
  assert.equal(await probePort(21650, '192.0.2.1'), 'error');
  await assertPortsFree([{ port: 21650, host: '192.0.2.1', owner: 'x' }]);
});

test('assertPortsFree names every busy port and its owner, and skips port 0', async () => {
  const a = await listen();
  const b = await listen();
  servers.push(a, b);
  const pa = (a.address() as net.AddressInfo).port;
  const pb = (b.address() as net.AddressInfo).port;
  const free = await findFreePort();
  await assert.rejects(
    assertPortsFree([
      { port: pa, host: '0.0.0.0', owner: 'backend-a' },
      { port: 0, host: '0.0.0.0', owner: 'zero' },
      { port: free, host: '127.0.0.1', owner: 'free one' },
      { port: pb, host: '127.0.0.1', owner: 'balancer listen' },
    ]),
    (err: unknown) => {
      assert.ok(err instanceof InvalidRunError);
      assert.equal(err.code, 'LBB_ERR_PORT_BUSY');
      assert.equal(err.exitCode, 3);
      assert.match(err.message, new RegExp(`${pa} \\(backend-a\\)`));
      assert.match(err.message, new RegExp(`${pb} \\(balancer listen\\)`));
      assert.doesNotMatch(err.message, /zero|free one/);
      return true;
    },
  );
});

test('loopback hosts and connect hosts', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['10.0.0.1', 'example.com', '0.0.0.0', '128.0.0.1']) assert.equal(isLoopbackHost(h), false, h);
  assert.equal(connectHost('0.0.0.0'), '127.0.0.1');
  assert.equal(connectHost('::'), '127.0.0.1');
  assert.equal(connectHost('127.0.0.5'), '127.0.0.5');
  assert.equal(connectHost('::1'), '[::1]');
});
