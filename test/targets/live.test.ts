/**
 * nginx, HAProxy and a command target for real: started from the same `lb`
 * section as our balancer, in front of real backends on ports 0. Skipped
 * with a visible reason where a program is missing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfigText, type LbbenchConfig } from '../../common/config.js';
import { findFreePort } from '../../harness/services/ports.js';
import { isPortFree } from '../port-free.js';
import { readProcStat } from '../../harness/sampling/proc-stats.js';
import { scrapeMetrics } from '../../harness/sampling/sampler.js';
import { sumSamples } from '../../harness/sampling/prom-text.js';
import { startServices, type ManagedServices } from '../../harness/services/services.js';
import { createTarget } from '../../harness/services/targets/index.js';
import type { BackendStatsSnapshot } from '../../backend/stats.js';
import { skipWithout } from './target-helpers.js';
import { waitFor } from '../wait-for.js';
import { itemAt, valueAt } from '../../common/checked.js';

const WEIGHTED = `
lb:
  listen: { host: 127.0.0.1, port: 0 }
  metrics: { host: 127.0.0.1, port: 0 }
  workers: 1
  algorithm: weighted_round_robin
  backends:
    - { name: backend-a, url: "http://127.0.0.1:0", weight: 5 }
    - { name: backend-b, url: "http://127.0.0.1:0", weight: 3 }
    - { name: backend-c, url: "http://127.0.0.1:0", weight: 2 }
  health:
    active: { intervalMs: 100, timeoutMs: 500, rise: 1, fall: 2 }
  timeouts: { drainMs: 1000 }
harness:
  startTimeoutMs: 15000
`;

async function echoCounts(services: ManagedServices): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [name, url] of services.backends) {
    const s = (await (await fetch(`${url}/stats`)).json()) as BackendStatsSnapshot;
    out.set(name, s.requests.byFamily.echo);
  }
  return out;
}

/** Sends `n` GET /echo through the balancer; returns each backend's share, from the backends' own counts. */
async function sharesThrough(services: ManagedServices, n: number): Promise<Record<string, number>> {
  const before = await echoCounts(services);
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${services.lbUrl}/echo`);
    assert.equal(res.status, 200);
    await res.text();
  }
  const after = await echoCounts(services);
  const shares: Record<string, number> = {};
  for (const [name, count] of after) shares[name] = (count - before.get(name)!) / n;
  return shares;
}

function assertWeightedShares(shares: Record<string, number>): void {
  const expected: Record<string, number> = { 'backend-a': 0.5, 'backend-b': 0.3, 'backend-c': 0.2 };
  for (const [name, want] of Object.entries(expected)) {
    assert.ok(
      Math.abs(valueAt(shares, name, `the share of ${name}`) - want) <= 0.05,
      `${name}: share ${shares[name]} (expected ${want}): ${JSON.stringify(shares)}`,
    );
  }
}

/** Stops the services and checks that no process of theirs is left and their ports are free. */
async function stopAndCheck(services: ManagedServices): Promise<void> {
  const pids = services.list().map((s) => s.pid);
  const ports = [services.lbUrl, ...services.backends.values()].map((u) => Number(new URL(u).port));
  ports.push(services.lbConfig.metrics.port);
  await services.stop();
  for (const pid of pids) assert.equal(readProcStat(pid), undefined, `pid ${pid} still alive`);
  for (const port of ports) assert.equal(await isPortFree(port, '127.0.0.1'), true, `port ${port} still busy`);
}

for (const name of ['nginx', 'haproxy'] as const) {
  describe(`${name} target`, { skip: skipWithout(name) }, () => {
    test("weighted shares from the backends' counts, metrics under our names, overrides re-render, stop leaves nothing", async () => {
      const config = parseConfigText('weighted.yaml', WEIGHTED);
      const services = await startServices(config, { target: createTarget(name, config) });
      try {
        assert.equal(services.target.kind, name);
        assert.ok(services.balancerPids().length >= 1);
        assertWeightedShares(await sharesThrough(services, 100));

        const snap = await scrapeMetrics(services.metricsUrl);
        const perBackend = ['backend-a', 'backend-b', 'backend-c'].map((b) => sumSamples(snap.samples, 'lb_requests_total', { backend: b }));
        // Readiness probes also went through the balancer; the 100 requests are 50/30/20 of the rest.
        assert.ok(
          itemAt(perBackend, 0, 'perBackend[0]') >= 50 && itemAt(perBackend, 1, 'perBackend[1]') >= 30 && itemAt(perBackend, 2, 'perBackend[2]') >= 20,
          `lb_requests_total ${perBackend.join('/')}`,
        );
        assert.ok(
          snap.samples.some((s) => s.name === 'lb_active_connections'),
          'lb_active_connections',
        );
        assert.ok(sumSamples(snap.samples, 'lb_upstream_connects_total') >= 3);
        if (name === 'haproxy') {
          assert.equal(sumSamples(snap.samples, 'lb_backend_health'), 3);
          await services.killBackend('backend-b');
          await waitFor(
            async () => sumSamples((await scrapeMetrics(services.metricsUrl)).samples, 'lb_backend_health', { backend: 'backend-b' }) === 0,
            10_000,
            { stepMs: 100, what: 'HAProxy to mark backend-b down' },
          );
          await services.restartBackend('backend-b');
          await waitFor(
            async () => sumSamples((await scrapeMetrics(services.metricsUrl)).samples, 'lb_backend_health', { backend: 'backend-b' }) === 1,
            10_000,
            { stepMs: 100, what: 'HAProxy to mark backend-b up' },
          );
          assert.deepEqual(services.missingMetrics(), { lb_worker_restarts_total: 'HAProxy runs threads in one process and exposes no worker restarts' });
        } else {
          assert.equal(
            snap.samples.some((s) => s.name === 'lb_backend_health'),
            false,
            'nginx has no health gauge, so none is invented',
          );
          assert.match(valueAt(services.missingMetrics(), 'lb_backend_health', 'services.missingMetrics().lb_backend_health'), /no health gauge/);
          assert.match(services.targetSummary().notes.join(' '), /passive health checks only/);
        }

        const oldPids = services.balancerPids();
        await services.restartBalancer({ algorithm: 'round_robin' });
        assert.equal(
          oldPids.some((pid) => readProcStat(pid) !== undefined),
          false,
          'the old balancer is gone',
        );
        const rr = await sharesThrough(services, 99);
        for (const share of Object.values(rr)) assert.ok(Math.abs(share - 1 / 3) <= 0.05, `round robin ${JSON.stringify(rr)}`);
      } finally {
        await stopAndCheck(services);
      }
    });
  });
}

describe('switching targets', { skip: skipWithout('nginx') }, () => {
  test('lbbench, then nginx, on the same address with the same backends', async () => {
    const config = parseConfigText('weighted.yaml', WEIGHTED);
    const services = await startServices(config);
    try {
      const url = services.lbUrl;
      const backends = [...services.backends.values()];
      assertWeightedShares(await sharesThrough(services, 100));
      const lbPids = services.balancerPids();
      await services.switchTarget(createTarget('nginx', config));
      assert.equal(services.lbUrl, url);
      assert.deepEqual([...services.backends.values()], backends);
      assert.equal(
        lbPids.some((pid) => readProcStat(pid) !== undefined),
        false,
      );
      assertWeightedShares(await sharesThrough(services, 100));
    } finally {
      await stopAndCheck(services);
    }
  });
});

describe('command target', { skip: skipWithout('nginx') }, () => {
  test('runs nginx from a user-written config file, with {port} and {dir} substituted', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lbbench-command-'));
    try {
      const ports = [await findFreePort(), await findFreePort(), await findFreePort()];
      // What a user writes: their own nginx.conf, with fixed backend addresses.
      const template = path.join(dir, 'my-nginx.conf');
      writeFileSync(
        template,
        [
          'worker_processes 1;',
          'pid {dir}/nginx.pid;',
          'error_log stderr warn;',
          'events { worker_connections 1024; }',
          'http {',
          '  access_log off;',
          '  client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir}; uwsgi_temp_path {dir}; scgi_temp_path {dir};',
          `  upstream app { server 127.0.0.1:${ports[0]} weight=5; server 127.0.0.1:${ports[1]} weight=3; server 127.0.0.1:${ports[2]} weight=2; keepalive 16; }`,
          '  server { listen 127.0.0.1:{port}; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }',
          '  server { listen 127.0.0.1:{metricsPort}; location = /status { stub_status; } }',
          '}',
          '',
        ].join('\n'),
      );
      const yaml = WEIGHTED.replace(/url: "http:\/\/127\.0\.0\.1:0"/g, () => `url: "http://127.0.0.1:${ports.shift()}"`).concat(
        `targets:\n  my-nginx:\n    kind: command\n    command: [nginx, -p, "{dir}", -e, stderr, -c, "{config}", -g, "daemon off;"]\n` +
          `    configTemplate: ${JSON.stringify(template)}\n    metricsUrl: "http://127.0.0.1:{metricsPort}/status"\n    metricsFormat: stub_status\n`,
      );
      const config: LbbenchConfig = parseConfigText('command.yaml', yaml);
      const target = createTarget('my-nginx', config);
      assert.equal(target.kind, 'command');
      assert.deepEqual(await target.available(), { ok: true });
      const services = await startServices(config, { target });
      try {
        assert.ok(services.balancerPids().length >= 2, 'nginx master and worker');
        assertWeightedShares(await sharesThrough(services, 100));
        const snap = await scrapeMetrics(services.metricsUrl);
        assert.ok(sumSamples(snap.samples, 'lb_requests_total', { backend: 'backend-a' }) >= 50);
        assert.ok(snap.samples.some((s) => s.name === 'lb_active_connections'));
      } finally {
        await stopAndCheck(services);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
