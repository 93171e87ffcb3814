import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LbConfigSchema, type LbConfig } from '../../../common/config.js';
import { HealthRegistry, type HealthChange } from '../../../lb/health/health-registry.js';
import { waitFor } from '../../wait-for.js';
import { itemAt } from '../../../common/checked.js';

/** `lb.health` with the schema's defaults (interval 250, timeout 500, rise 2, fall 2), plus overrides. */
function healthSettings(overrides: Record<string, unknown> = {}): LbConfig['health'] {
  return LbConfigSchema.parse({ backends: [{ name: 'x', url: 'http://127.0.0.1:1' }], health: overrides }).health;
}

/** A test backend that can be closed and re-opened on the same port. */
class Backend {
  server: http.Server | undefined;
  port = 0;
  checks = 0;
  constructor(private readonly handler: http.RequestListener = (_req, res) => res.end('ok')) {}
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  async open(): Promise<this> {
    const server = http.createServer((req, res) => {
      this.checks++;
      this.handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** A change and how many check results had been reported when it came. */
interface Seen extends HealthChange {
  checksSeen: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('defaults: a dead backend goes down on its fall-th (2nd) failed check, and up again on its rise-th (2nd) good one', async (t) => {
  // With the defaults this is down within 1 s (2 x 250 ms) and up within 1 s of re-listening: asserted by
  // counting checks, which a slow machine cannot make flaky.
  const { intervalMs, rise, fall } = healthSettings().active;
  assert.deepEqual({ intervalMs, rise, fall }, { intervalMs: 250, rise: 2, fall: 2 });
  const stable = await new Backend().open();
  const flaky = await new Backend().open();
  const changes: Seen[] = [];
  const checks: [number, boolean][] = [];
  const registry: HealthRegistry = new HealthRegistry(
    [
      { name: 'stable', url: stable.url },
      { name: 'flaky', url: flaky.url },
    ],
    healthSettings(),
    (change) => {
      // onChange runs after the state changed, synchronously.
      assert.equal(registry.isUp(change.index), change.up);
      changes.push({ ...change, checksSeen: checks.length });
    },
    (index, ok) => checks.push([index, ok]),
  );
  t.after(async () => {
    registry.stop();
    await Promise.all([stable.close(), flaky.close()]);
  });
  assert.deepEqual(registry.states(), [true, true]);
  registry.start();
  await waitFor(() => flaky.checks >= 2 && stable.checks >= 2, 5000);
  assert.equal(changes.length, 0);
  assert.ok(checks.every(([, ok]) => ok));

  await flaky.close();
  await waitFor(() => changes.length >= 1, 5000);
  const down = itemAt(changes, 0, 'changes[0]');
  assert.deepEqual(
    { index: down.index, name: down.name, up: down.up, reason: down.reason, source: down.source },
    { index: 1, name: 'flaky', up: false, reason: 'connect ECONNREFUSED', source: 'active' },
  );
  const flakyResults = (upTo: number) => checks.slice(0, upTo).flatMap(([i, ok]) => (i === 1 ? [ok] : []));
  assert.deepEqual(flakyResults(down.checksSeen).slice(-3), [true, false, false], 'down on the 2nd failure in a row, not before');
  assert.deepEqual(registry.states(), [true, false]);
  assert.ok(checks.some(([i, ok]) => i === 1 && !ok));

  await flaky.open();
  await waitFor(() => changes.length >= 2, 5000);
  const up = itemAt(changes, 1, 'changes[1]');
  assert.deepEqual({ index: up.index, up: up.up, reason: up.reason, source: up.source }, { index: 1, up: true, reason: 'status 200', source: 'active' });
  assert.deepEqual(flakyResults(up.checksSeen).slice(-3), [false, true, true], 'up on the 2nd success in a row, not before');
  assert.deepEqual(registry.states(), [true, true]);
  assert.equal(changes.length, 2);
});

test('a backend that is down at start begins up and goes down on its fall-th (2nd) failed check', async (t) => {
  const dead = await new Backend().open();
  await dead.close();
  const changes: Seen[] = [];
  const checks: boolean[] = [];
  const registry = new HealthRegistry(
    [{ name: 'dead', url: dead.url }],
    healthSettings(),
    (c) => changes.push({ ...c, checksSeen: checks.length }),
    (_i, ok) => checks.push(ok),
  );
  t.after(() => registry.stop());
  assert.equal(registry.isUp(0), true);
  registry.start();
  await waitFor(() => changes.length === 1, 5000, { what: 'the backend to go down' });
  assert.equal(changes[0]?.up, false);
  assert.deepEqual(checks.slice(0, changes[0]?.checksSeen), [false, false], 'down after exactly fall (2) failed checks');
});

test('a hung backend goes down with a timeout reason', async (t) => {
  const hung = await new Backend(() => {}).open();
  const changes: HealthChange[] = [];
  const registry = new HealthRegistry([{ name: 'hung', url: hung.url }], healthSettings({ active: { intervalMs: 50, timeoutMs: 100 } }), (c) =>
    changes.push(c),
  );
  t.after(async () => {
    registry.stop();
    await hung.close();
  });
  registry.start();
  await waitFor(() => changes.length === 1, 5000);
  assert.deepEqual(changes[0], { index: 0, name: 'hung', up: false, reason: 'timeout after 100ms', source: 'active' });
});

test('a passive failure takes a backend down at once; active checks bring it back after rise successes', async (t) => {
  const backend = await new Backend().open();
  const changes: HealthChange[] = [];
  const checks: boolean[] = [];
  const registry = new HealthRegistry(
    [{ name: 'b', url: backend.url }],
    healthSettings(),
    (c) => changes.push(c),
    (_i, ok) => checks.push(ok),
  );
  t.after(async () => {
    registry.stop();
    await backend.close();
  });
  registry.start();
  registry.reportPassiveFailure(0, 'connect ECONNRESET');
  // Synchronous: the change is out before reportPassiveFailure returns.
  assert.deepEqual(changes, [{ index: 0, name: 'b', up: false, reason: 'connect ECONNRESET', source: 'passive' }]);
  assert.equal(registry.isUp(0), false);
  registry.reportPassiveFailure(0, 'again');
  assert.equal(changes.length, 1, 'no change when already down');

  const checksBefore = checks.length;
  await waitFor(() => changes.length === 2, 5000);
  assert.deepEqual(changes[1], { index: 0, name: 'b', up: true, reason: 'status 200', source: 'active' });
  assert.ok(checks.length - checksBefore >= 2, 'needs rise (2) successful checks');
});

test('passive failures are ignored when passive checks are disabled, and for unknown indexes', async (t) => {
  const changes: HealthChange[] = [];
  const registry = new HealthRegistry(
    [{ name: 'b', url: 'http://127.0.0.1:9' }],
    healthSettings({ active: { enabled: false }, passive: { enabled: false } }),
    (c) => changes.push(c),
  );
  t.after(() => registry.stop());
  registry.start();
  registry.reportPassiveFailure(0, 'refused');
  registry.reportPassiveFailure(7, 'refused');
  registry.reportPassiveFailure(-1, 'refused');
  assert.deepEqual(changes, []);
  assert.deepEqual(registry.states(), [true]);
  assert.equal(registry.isUp(7), false);
});

test('without active checks a passively downed backend recovers after passiveRecoveryMs', async (t) => {
  const backend = await new Backend().open();
  const changes: HealthChange[] = [];
  const registry = new HealthRegistry([{ name: 'b', url: backend.url }], healthSettings({ active: { enabled: false } }), (c) => changes.push(c), undefined, {
    passiveRecoveryMs: 100,
  });
  t.after(async () => {
    registry.stop();
    await backend.close();
  });
  registry.start();
  registry.reportPassiveFailure(0, 'read ECONNRESET');
  assert.equal(registry.isUp(0), false);
  await waitFor(() => changes.length === 2, 2000);
  assert.deepEqual(changes[1], { index: 0, name: 'b', up: true, reason: 'passive recovery after 100ms', source: 'passive' });
  assert.equal(backend.checks, 0, 'no active checks were sent');
});

test('stop(): no callbacks afterwards, even when a backend dies or a recovery was pending', async (t) => {
  const backend = await new Backend().open();
  let callbacks = 0;
  const registry = new HealthRegistry(
    [{ name: 'b', url: backend.url }],
    healthSettings({ active: { intervalMs: 20 } }),
    () => callbacks++,
    () => callbacks++,
  );
  t.after(async () => {
    registry.stop();
    await backend.close();
  });
  registry.start();
  await waitFor(() => backend.checks >= 1, 5000);
  registry.stop();
  const after = callbacks;
  await backend.close();
  registry.reportPassiveFailure(0, 'refused');
  registry.start();
  await sleep(300);
  assert.equal(callbacks, after);
  assert.deepEqual(registry.states(), [true]);
});
