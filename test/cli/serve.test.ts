import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { isPortFree } from '../port-free.js';
import { readProcStat } from '../../harness/sampling/proc-stats.js';
import { FIXTURE_CONFIG, startCli } from './helpers.js';
import { itemAt } from '../../common/checked.js';

test('serve starts everything, proxies /echo, and SIGINT stops all and frees the ports', async () => {
  const cli = startCli(['serve', '--config', FIXTURE_CONFIG]);
  after(() => cli.kill());
  await cli.waitFor(/ready; press Ctrl-C to stop/);
  const lbUrl = itemAt(cli.stdout.match(/^balancer: (\S+)$/m) ?? [], 1, 'the balancer: line');
  const metricsUrl = itemAt(cli.stdout.match(/^metrics: +(\S+)$/m) ?? [], 1, 'the metrics: line');
  const rows = [...cli.stdout.matchAll(/│ (\S+) +│ (lb|backend) +│ (\d+) +│ (\S+) +│/g)].map((m) => ({
    name: itemAt(m, 1, 'a service name'),
    pid: Number(m[3]),
    url: itemAt(m, 4, 'a service URL'),
  }));
  assert.deepEqual(rows.map((r) => r.name).sort(), ['backend-a', 'backend-b', 'backend-c', 'lb', 'lb-worker-1']);
  assert.match(cli.stderr + cli.stdout, /^lb +\| /m, 'child log lines are prefixed with the name');

  const echo = await fetch(`${lbUrl}/echo`, { headers: { connection: 'close' } });
  assert.equal(echo.status, 200);
  assert.match(await echo.text(), /backend-[abc]/);
  const metrics = await fetch(metricsUrl, { headers: { connection: 'close' } });
  assert.match(await metrics.text(), /lb_requests_total/);

  cli.child.kill('SIGINT');
  assert.equal(await cli.exited, 0, cli.stderr);
  for (const r of rows) assert.equal(readProcStat(r.pid), undefined, `${r.name} (pid ${r.pid}) survived`);
  const ports = new Set([lbUrl, metricsUrl, ...rows.map((r) => r.url)].map((u) => Number(new URL(u).port)));
  for (const port of ports) assert.equal(await isPortFree(port, '127.0.0.1'), true, `port ${port} still busy`);
});

test('serve with a busy port exits 3 and names it', async () => {
  const net = await import('node:net');
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  after(() => blocker.close());
  const busy = (blocker.address() as import('node:net').AddressInfo).port;
  const { writeFileSync, readFileSync, mkdtempSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'lbbench-test-')), 'c.yaml');
  writeFileSync(config, readFileSync(FIXTURE_CONFIG, 'utf8').replace('listen: { host: 127.0.0.1, port: 0 }', `listen: { host: 127.0.0.1, port: ${busy} }`));
  const cli = startCli(['serve', '--config', config]);
  after(() => cli.kill());
  assert.equal(await cli.exited, 3);
  assert.match(cli.stderr, new RegExp(`port already in use: ${busy} \\(balancer listen\\)`));
});

test('services stop by themselves when the harness is SIGKILLed (no orphans)', async () => {
  const cli = startCli(['serve', '--config', FIXTURE_CONFIG]);
  after(() => cli.kill());
  await cli.waitFor(/ready; press Ctrl-C to stop/);
  const pids = [...cli.stdout.matchAll(/│ \S+ +│ (?:lb|backend) +│ (\d+) +│/g)].map((m) => Number(m[1]));
  assert.equal(pids.length, 5);
  cli.child.kill('SIGKILL');
  await cli.exited;
  const deadline = Date.now() + 10_000;
  let alive = pids;
  while ((alive = alive.filter((pid) => readProcStat(pid) !== undefined)).length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(alive, [], 'orphaned services');
});
