import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { loadConfig } from '../../common/config.js';
import { InvalidRunError, UsageError } from '../../common/errors.js';
import { PACKAGE_ROOT } from '../../common/paths.js';
import { isPortFree } from '../port-free.js';
import { childPids as listChildren, readProcStat } from '../../harness/sampling/proc-stats.js';
import { deepMerge } from '../../common/objects.js';
import { probeHttp, startServices, type ManagedServices, type ServiceExit } from '../../harness/services/services.js';
import { itemAt } from '../../common/checked.js';

const FIXTURE = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'config.yaml');
const config = loadConfig(FIXTURE);

function alive(pid: number): boolean {
  return readProcStat(pid) !== undefined;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

async function getText(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers: { connection: 'close' } });
  return { status: res.status, body: await res.text() };
}

describe('startServices with the fixture topology (ports 0)', () => {
  let services: ManagedServices;
  const exits: ServiceExit[] = [];
  before(async () => {
    services = await startServices(config);
    services.onUnexpectedExit((e) => exits.push(e));
  });
  after(async () => {
    await services?.stop();
  });

  test('resolves ports, and every service answers', async () => {
    assert.equal(services.backends.size, 3);
    for (const url of services.backends.values()) {
      assert.ok(portOf(url) > 0, url);
      assert.equal(await probeHttp(`${url}/health`), 200);
    }
    assert.ok(portOf(services.lbUrl) > 0);
    assert.equal(services.lbConfig.listen.port, portOf(services.lbUrl));
    const echo = await getText(`${services.lbUrl}/echo`);
    assert.equal(echo.status, 200);
    assert.match(echo.body, /backend-[abc]/);
    assert.equal(await probeHttp(services.metricsUrl), 200);
  });

  test('list() has the balancer, its worker and the backends; balancerPids() the primary and worker', () => {
    const names = services.list().map((s) => s.name);
    assert.deepEqual(names.sort(), ['backend-a', 'backend-b', 'backend-c', 'lb', 'lb-worker-1']);
    const pids = services.balancerPids();
    assert.equal(pids.length, 2);
    assert.equal(pids[0], services.list().find((s) => s.name === 'lb')!.pid);
  });

  test('killBackend kills it without reporting an unexpected exit; restartBackend brings it back on its port', async () => {
    const before = services.list().find((s) => s.name === 'backend-b')!;
    const url = services.backends.get('backend-b')!;
    await services.killBackend('backend-b');
    assert.equal(alive(before.pid), false);
    assert.equal(await probeHttp(`${url}/health`, 300), undefined);
    assert.equal(
      services.list().some((s) => s.name === 'backend-b'),
      false,
    );
    await services.restartBackend('backend-b');
    assert.equal(services.backends.get('backend-b'), url);
    assert.equal(await probeHttp(`${url}/health`), 200);
    assert.deepEqual(exits, []);
  });

  test('restartBalancer applies overrides and {} restores the config', async () => {
    const oldPid = itemAt(services.balancerPids(), 0, 'services.balancerPids()[0]');
    const lbUrl = services.lbUrl;
    await services.restartBalancer({ algorithm: 'random', pool: { keepAlive: false } });
    assert.equal(alive(oldPid), false);
    assert.equal(services.lbConfig.algorithm, 'random');
    assert.equal(services.lbConfig.pool.keepAlive, false);
    assert.equal(services.lbConfig.pool.maxConnections, config.lb.pool.maxConnections);
    assert.equal(services.lbUrl, lbUrl, 'same port after a restart');
    assert.equal((await getText(`${services.lbUrl}/echo`)).status, 200);
    await services.restartBalancer({});
    assert.equal(services.lbConfig.algorithm, config.lb.algorithm);
    assert.deepEqual(exits, []);
  });

  test('--attach uses the running services, finds their PIDs, and refuses to kill or restart', async () => {
    const c = deepMerge(config, {});
    c.lb = { ...services.lbConfig, backends: services.lbConfig.backends };
    const attached = await startServices(c, { attach: true });
    try {
      assert.equal(attached.attached, true);
      assert.equal(attached.lbUrl, services.lbUrl);
      const pidsOf = (list: { name: string; pid: number }[]): string[] => list.map((x) => `${x.name}:${x.pid}`).sort();
      assert.deepEqual(pidsOf(attached.list()), pidsOf(services.list()));
      assert.deepEqual(attached.balancerPids(), services.balancerPids());
      await assert.rejects(attached.killBackend('backend-a'), UsageError);
      await assert.rejects(attached.restartBalancer({}), UsageError);
    } finally {
      await attached.stop();
    }
    assert.equal(await probeHttp(`${services.lbUrl}/health`), 200, 'stop() of an attached set stops nothing');
  });

  test('a service killed from outside is reported as an unexpected exit', async () => {
    const victim = services.list().find((s) => s.name === 'backend-c')!;
    const seen = new Promise<ServiceExit>((resolve) => services.onUnexpectedExit(resolve));
    process.kill(victim.pid, 'SIGKILL');
    const exit = await seen;
    assert.equal(exit.name, 'backend-c');
    assert.equal(exit.signal, 'SIGKILL');
  });

  test('stop() leaves no process and frees every port', async () => {
    const pids = services.list().map((s) => s.pid);
    const ports = [services.lbUrl, services.metricsUrl, ...services.backends.values()].map(portOf);
    await services.stop();
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} still alive`);
    for (const port of ports) assert.equal(await isPortFree(port, '127.0.0.1'), true, `port ${port} still busy`);
    assert.deepEqual(services.list(), []);
  });
});

describe('start failures', () => {
  const held: net.Server[] = [];
  after(() => held.forEach((s) => s.close()));

  test('a busy port is named (exit 3) and nothing is left running', async () => {
    const blocker = net.createServer();
    held.push(blocker);
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const busy = (blocker.address() as net.AddressInfo).port;
    const c = deepMerge(config, {});
    c.lb.backends[1] = { ...itemAt(c.lb.backends, 1, 'the second backend'), url: `http://127.0.0.1:${busy}` };
    await assert.rejects(startServices(c), (err: unknown) => {
      assert.ok(err instanceof InvalidRunError);
      assert.equal(err.code, 'LBB_ERR_PORT_BUSY');
      assert.equal(err.exitCode, 3);
      assert.match(err.message, new RegExp(`${busy} \\(backend-b\\)`));
      return true;
    });
  });

  test('a balancer that cannot bind fails the start with its stderr, and the backends are stopped', async () => {
    const c = deepMerge(config, {});
    // TEST-NET-1 is not a local address: the balancer's listen() fails.
    c.lb.listen = { host: '192.0.2.1', port: 21651 };
    c.harness.startTimeoutMs = 10_000;
    const before = new Set(childPids());
    await assert.rejects(startServices(c), (err: unknown) => {
      assert.ok(err instanceof InvalidRunError, String(err));
      assert.equal(err.code, 'LBB_ERR_SERVICE_START');
      assert.match(err.message, /balancer/);
      assert.match(err.message, /exited with code \d+/);
      return true;
    });
    const leftover = childPids().filter((pid) => !before.has(pid));
    assert.deepEqual(leftover, []);
  });

  test('an aborted start stops what had started', async () => {
    const ac = new AbortController();
    const p = startServices(config, { signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    await assert.rejects(p, (err: unknown) => err instanceof InvalidRunError && err.code === 'LBB_ERR_INTERRUPTED');
    assert.deepEqual(childPids(), []);
  });
});

/** Live children of this test process, other than node's own helpers. */
function childPids(): number[] {
  return listChildren(process.pid).filter(alive);
}
