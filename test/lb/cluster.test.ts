/**
 * The real thing: `runBalancer` in a child process with node:cluster
 * workers, driven with signals. Covers worker distribution, failover under
 * load (SIGKILL of a backend process), worker restarts, SIGHUP reload and
 * SIGTERM drain. Every process started here is killed in teardown.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../common/errors.js';
import { MetricName } from '../../common/metric-names.js';
import { runBalancer } from '../../lb/main.js';
import { httpRequest, scrape, spawnBalancer, startBackend, waitFor, type LbProcess, type TestBackend } from './lb-helpers.js';
import { itemAt } from '../../common/checked.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'lbbench-cluster-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, body);
  return file;
}

function configYaml(backends: { name: string; url: string; weight: number }[], extra = ''): string {
  return [
    'lb:',
    '  listen: { host: 127.0.0.1, port: 0 }',
    '  metrics: { host: 127.0.0.1, port: 0 }',
    '  workers: 2',
    '  algorithm: weighted_round_robin',
    '  backends:',
    ...backends.map((b) => `    - { name: ${b.name}, url: "${b.url}", weight: ${b.weight} }`),
    '  health:',
    // The backends answer from the busy test process (or its children): a check
    // timeout of 300 ms with fall 2 took one backend down on a 600 ms stall of a
    // shared runner and broke the 1% weight check. 2 s bounds a hang only: a
    // SIGKILLed backend refuses the connection at once.
    '    active: { intervalMs: 100, timeoutMs: 2000, rise: 2, fall: 2 }',
    '  timeouts: { drainMs: 3000 }',
    extra,
  ].join('\n');
}

const okHandler: http.RequestListener = (req, res) => {
  if (req.url?.startsWith('/slow')) {
    setTimeout(() => res.end('slow done'), 600);
    return;
  }
  res.end('ok');
};

/** Sequential GETs, `perConnection` on each fresh keep-alive connection. */
async function sequentialGets(port: number, count: number, perConnection: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < count; i += perConnection) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let j = 0; j < perConnection && i + j < count; j++) {
      if ((await httpRequest(`http://127.0.0.1:${port}/`, { agent })).status === 200) ok++;
    }
    agent.destroy();
  }
  return ok;
}

describe('cluster with 2 workers', () => {
  let bs: TestBackend[];
  let lb: LbProcess;
  let configPath: string;
  before(async () => {
    bs = await Promise.all(['b1', 'b2', 'b3'].map((n) => startBackend(n, okHandler)));
    configPath = writeConfig('two-workers.yaml', configYaml(bs.map((b, i) => ({ name: b.name, url: b.url, weight: itemAt([5, 3, 2], i, 'a test weight') }))));
    lb = await spawnBalancer(configPath);
  });
  after(async () => {
    lb?.kill();
    await Promise.all(bs.map((b) => b.close()));
  });

  it('10,000 sequential GETs with weights 5:3:2 stay within 1% of 5000/3000/2000', async () => {
    const m0 = await scrape(lb.metricsPort);
    assert.equal(m0.get(MetricName.workers), 2);
    assert.equal(await sequentialGets(lb.port, 10_000, 50), 10_000);
    const hits = bs.map((b) => b.hits);
    [5000, 3000, 2000].forEach((want, i) => assert.ok(Math.abs(itemAt(hits, i, 'hits[i]') - want) <= 100, `hits ${hits.join('/')}`));
    const m = await scrape(lb.metricsPort);
    assert.equal(m.get(MetricName.requests), 10_000, 'metrics are summed over workers');
    assert.equal(m.get(MetricName.requests, { backend: 'b1', code: '200' }), hits[0]);
  });

  it('re-forks a killed worker; /metrics answers meanwhile and counters stay monotonic', async () => {
    const before = (await scrape(lb.metricsPort)).get(MetricName.requests);
    const workers = execFileSync('ps', ['-o', 'pid=', '--ppid', String(lb.child.pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
    assert.equal(workers.length, 2);
    process.kill(itemAt(workers, 0, 'workers[0]'), 'SIGKILL');
    const m1 = await scrape(lb.metricsPort);
    assert.ok(m1.get(MetricName.requests) >= before);
    await waitFor(async () => (await scrape(lb.metricsPort)).get(MetricName.workers) === 2, 10_000, { stepMs: 50, what: 'lb_workers back to 2' });
    const m2 = await scrape(lb.metricsPort);
    assert.equal(m2.get(MetricName.workerRestarts), 1);
    assert.ok(m2.get(MetricName.requests) >= before);
    assert.equal(await sequentialGets(lb.port, 20, 1), 20);
    assert.match(lb.log(), /worker \d+ \(pid \d+\) exited \(SIGKILL\); restarting/);
  });

  it('SIGHUP applies new weights; an invalid config is refused and the old one kept', async () => {
    writeFileSync(configPath, configYaml([{ name: 'b2', url: itemAt(bs, 1, 'bs[1]').url, weight: 1 }]));
    lb.child.kill('SIGHUP');
    await waitFor(() => /reloaded .*1 backend/.test(lb.log()), 10_000, { what: () => `the reload in the log:\n${lb.log()}` });
    const before = bs.map((b) => b.hits);
    assert.equal(await sequentialGets(lb.port, 30, 10), 30);
    assert.deepEqual(
      bs.map((b, i) => b.hits - itemAt(before, i, 'before[i]')),
      [0, 30, 0],
    );
    writeFileSync(configPath, configYaml([{ name: 'b2', url: 'not a url', weight: -1 }], '  bogus: 1'));
    lb.child.kill('SIGHUP');
    await waitFor(() => /reload refused/.test(lb.log()), 10_000, { what: () => `the refused reload in the log:\n${lb.log()}` });
    assert.match(lb.log(), /lb\.backends\[0\]\.url/);
    assert.match(lb.log(), /lb\.bogus: unknown key/);
    assert.equal(await sequentialGets(lb.port, 10, 10), 10);
    assert.equal(itemAt(bs, 1, 'bs[1]').hits - itemAt(before, 1, 'before[1]'), 40);
  });

  it('SIGTERM finishes in-flight requests, then exits 0', async () => {
    const slow = httpRequest(`http://127.0.0.1:${lb.port}/slow`);
    await waitFor(async () => (await scrape(lb.metricsPort)).get(MetricName.backendActiveRequests) === 1, 10_000, { what: 'the /slow request in flight' });
    lb.child.kill('SIGTERM');
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'slow done');
    assert.equal(await lb.exited, 0);
    assert.match(lb.log(), /SIGTERM: draining/);
  });
});

/** A backend in its own process, so it can be SIGKILLed. Prints its port. */
async function spawnBackendProcess(port: number): Promise<{ child: ChildProcess; port: number }> {
  const code = `const http=require('http');const s=http.createServer((q,r)=>r.end('ok'));s.keepAliveTimeout=10000;s.listen(${port},'127.0.0.1',()=>console.log('port '+s.address().port));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await waitFor(() => /port \d+/.test(out), 10_000, { what: () => `the backend process's port line (got: ${out})` });
  return { child, port: Number(/port (\d+)/.exec(out)![1]) };
}

describe('failover', () => {
  it('SIGKILL of a backend under ~1,000 GET/s: zero client errors, health goes 0, back to 1 after a restart, traffic again', async (t) => {
    const procs = [await spawnBackendProcess(0), await spawnBackendProcess(0), await spawnBackendProcess(0)];
    const children: ChildProcess[] = procs.map((p) => p.child);
    t.after(() => children.forEach((c) => c.kill('SIGKILL')));
    const cfg = writeConfig(
      'failover.yaml',
      configYaml(procs.map((p, i) => ({ name: `backend-${i}`, url: `http://127.0.0.1:${p.port}`, weight: itemAt([5, 3, 2], i, 'a test weight') }))),
    );
    const lb = await spawnBalancer(cfg);
    t.after(() => lb.kill());

    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    t.after(() => agent.destroy());
    let sent = 0;
    let errors = 0;
    let running = true;
    // Also when an assertion below throws: the load loop must not outlive the test.
    t.after(() => (running = false));
    const inflight = new Set<Promise<void>>();
    // ~1,000 requests/s: 10 every 10 ms.
    const loadStart = performance.now();
    const loop = (async () => {
      while (running) {
        for (let i = 0; i < 10; i++) {
          sent++;
          const p = httpRequest(`http://127.0.0.1:${lb.port}/`, { agent }).then(
            (r) => void (r.status !== 200 && errors++),
            () => void errors++,
          );
          inflight.add(p);
          void p.finally(() => inflight.delete(p));
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const health = async () => (await scrape(lb.metricsPort)).get(MetricName.backendHealth, { backend: 'backend-1' });
    await new Promise((r) => setTimeout(r, 1_000));
    itemAt(procs, 1, 'procs[1]').child.kill('SIGKILL');
    // Generous hang bounds: how fast is a benchmark's question (failover scenario), not this test's.
    const downMs = await waitFor(async () => (await health()) === 0, 10_000, { stepMs: 10, what: 'backend-1 health 0 after SIGKILL' });
    // The load goes on while backend-1 is down: counted sends, not a rate (a busy
    // runner's 10 ms timer fires at ~20 ms, which halves the rate, not the behaviour).
    const sentAtDown = sent;
    await new Promise((r) => setTimeout(r, 500));
    await waitFor(() => sent >= sentAtDown + 100, 10_000, { what: () => `100 sends while backend-1 is down (${sent - sentAtDown})` });
    const sentWhileDown = sent - sentAtDown;
    const again = await spawnBackendProcess(itemAt(procs, 1, 'procs[1]').port);
    children.push(again.child);
    const upMs = await waitFor(async () => (await health()) === 1, 10_000, { what: 'backend-1 health 1 after its restart' });
    const sentAtUp = sent;
    const hitsBefore = (await scrape(lb.metricsPort)).get(MetricName.requests, { backend: 'backend-1' });
    await waitFor(async () => (await scrape(lb.metricsPort)).get(MetricName.requests, { backend: 'backend-1' }) > hitsBefore, 10_000, {
      what: 'traffic to the restarted backend-1',
    });
    await waitFor(() => sent >= sentAtUp + 100, 10_000, { what: () => `100 sends after backend-1 is up again (${sent - sentAtUp})` });
    const sentAfterUp = sent - sentAtUp;
    const loadMs = performance.now() - loadStart;
    running = false;
    await loop;
    await Promise.all(inflight);
    t.diagnostic(
      `sent ${sent} (${Math.round((sent * 1000) / loadMs)}/s), ${sentWhileDown} while down, ${sentAfterUp} after the restart; errors ${errors}; health 0 after ${Math.round(downMs)} ms, 1 after ${Math.round(upMs)} ms`,
    );
    // Every send across the kill, the down window and the restart was answered 200.
    assert.equal(errors, 0, `${errors} client errors of ${sent}`);
    assert.match(lb.log(), /backend-1 DOWN \((passive|active): /);
    assert.match(lb.log(), /backend-1 UP \(active: /);
  });
});

describe('bad config', () => {
  it('runBalancer throws InputError listing every problem, before listening', async () => {
    const file = writeConfig(
      'bad.yaml',
      [
        'lb:',
        '  surprise: true',
        '  backends:',
        '    - { name: a, url: "http://127.0.0.1:21190", weight: -1 }',
        '    - { name: b, url: "not-a-url" }',
        '    - { name: c, url: "http://127.0.0.1:21190" }',
      ].join('\n'),
    );
    await assert.rejects(runBalancer({ configPath: file }), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.exitCode, 2);
      const paths = err.issues.map((i) => i.path);
      for (const p of ['lb.surprise', 'lb.backends[0].weight', 'lb.backends[1].url', 'lb.backends[2].url'])
        assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
      return true;
    });
  });
});
