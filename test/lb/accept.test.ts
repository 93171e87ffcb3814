/**
 * How workers accept (lb/accept-mode.ts): the primary is never in the
 * accept path, and with the shared queue an idle worker takes what a
 * stopped one cannot. Real cluster in a child process; a stopped process is
 * always continued and every process killed in teardown.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { resolveAcceptMode, runtimeHasReusePort } from '../../lb/accept-mode.js';
import { httpRequest, spawnBalancer, startBackend, waitFor, type LbProcess, type TestBackend } from './lb-helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'lbbench-accept-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, backendUrl: string, accept: string, port = 0): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    [
      'lb:',
      `  listen: { host: 127.0.0.1, port: ${port} }`,
      '  metrics: { host: 127.0.0.1, port: 0 }',
      '  workers: 2',
      `  accept: ${accept}`,
      '  backends:',
      `    - { name: b1, url: "${backendUrl}" }`,
      '  timeouts: { drainMs: 1000 }',
    ].join('\n'),
  );
  return file;
}

function workerPids(primaryPid: number): number[] {
  return execFileSync('ps', ['-o', 'pid=', '--ppid', String(primaryPid)], { encoding: 'utf8' })
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
}

/** `count` GETs, each on a fresh connection, all at once; resolves how many got 200 within `timeoutMs`. */
async function freshGets(port: number, count: number, timeoutMs: number): Promise<number> {
  const one = () =>
    new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        s.destroy();
        resolve(ok);
      };
      s.on('error', () => finish(false));
      s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      s.on('data', (d) => finish(d.toString('latin1').startsWith('HTTP/1.1 200')));
    });
  const results = await Promise.all(Array.from({ length: count }, one));
  return results.filter(Boolean).length;
}

/** Runs `fn` with `pid` stopped (SIGSTOP), continuing it whatever happens. */
async function whileStopped<T>(pid: number, fn: () => Promise<T>): Promise<T> {
  process.kill(pid, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

describe('accept mode resolution', () => {
  it('reusePort exists from Node 22.12 and 23.1 on', () => {
    const table: [string, boolean][] = [
      ['20.20.2', false],
      ['22.11.0', false],
      ['22.12.0', true],
      ['v22.20.1', true],
      ['23.0.0', false],
      ['23.1.0', true],
      ['24.22.3', true],
      ['25.0.0', true],
    ];
    for (const [version, want] of table) assert.equal(runtimeHasReusePort(version), want, version);
  });

  it('auto picks reuseport where it exists, shared elsewhere; an impossible reuseport falls back with a note', () => {
    assert.deepEqual(resolveAcceptMode('auto', '24.1.0'), { mode: 'reuseport' });
    assert.deepEqual(resolveAcceptMode('auto', '20.18.0'), { mode: 'shared' });
    assert.deepEqual(resolveAcceptMode('round_robin', '24.1.0'), { mode: 'round_robin' });
    const fallback = resolveAcceptMode('reuseport', '20.18.0');
    assert.equal(fallback.mode, 'shared');
    assert.match(fallback.note ?? '', /Node >= 22\.12/);
  });
});

for (const accept of ['auto', 'shared']) {
  describe(`accept: ${accept} (resolves to ${resolveAcceptMode(accept as 'auto', process.versions.node).mode} on Node ${process.versions.node})`, () => {
    let backend: TestBackend;
    let lb: LbProcess;
    before(async () => {
      backend = await startBackend('b1', (_req, res) => res.end('ok'));
      lb = await spawnBalancer(configFile(`${accept}.yaml`, backend.url, accept));
    });
    after(async () => {
      lb?.kill();
      await backend?.close();
    });

    it('logs the accept mode and the runtime', () => {
      const mode = resolveAcceptMode(accept as 'auto', process.versions.node).mode;
      assert.match(lb.log(), new RegExp(`accept ${mode}, .*node ${process.versions.node.replace(/\./g, '\\.')}`));
    });

    it('serves fresh connections while the primary is stopped: it is not in the accept path', async () => {
      assert.equal(workerPids(lb.child.pid!).length, 2);
      const served = await whileStopped(lb.child.pid!, () => freshGets(lb.port, 40, 3_000));
      assert.equal(served, 40);
    });

    if (resolveAcceptMode(accept as 'auto', process.versions.node).mode === 'shared') {
      it('serves every fresh connection while one worker is stopped: the other takes them from the shared queue', async () => {
        const [first] = workerPids(lb.child.pid!);
        const served = await whileStopped(first!, () => freshGets(lb.port, 40, 3_000));
        assert.equal(served, 40);
      });
    }
  });
}

describe('accept: reuseport', { skip: runtimeHasReusePort(process.versions.node) ? false : `Node ${process.versions.node} has no reusePort` }, () => {
  it('refuses a port another process holds, instead of silently sharing it', async () => {
    const backend = await startBackend('b1', (_req, res) => res.end('ok'));
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen({ port: 0, host: '127.0.0.1', reusePort: true } as net.ListenOptions, () => resolve()));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      await assert.rejects(spawnBalancer(configFile('taken.yaml', backend.url, 'reuseport', port)), /EADDRINUSE/);
    } finally {
      squatter.close();
      await backend.close();
    }
  });

  it('a re-forked worker binds the same port again and both serve', async () => {
    const backend = await startBackend('b1', (_req, res) => res.end('ok'));
    const lb = await spawnBalancer(configFile('refork.yaml', backend.url, 'reuseport'));
    try {
      const [first] = workerPids(lb.child.pid!);
      process.kill(first!, 'SIGKILL');
      // The waits throw with the log (loops that ended silently at a 5 s deadline
      // left a busy runner's slow re-fork to a confusing assertion below).
      const withLog = (what: string) => () => `${what}; log:\n${lb.log()}`;
      await waitFor(() => /restarting/.test(lb.log()), 10_000, { stepMs: 50, what: withLog('the restart of the killed worker') });
      await waitFor(
        () => {
          const pids = workerPids(lb.child.pid!);
          return pids.length === 2 && !pids.includes(first!);
        },
        10_000,
        { stepMs: 50, what: withLog('two workers, one of them re-forked') },
      );
      // The re-forked worker must have bound the port and serve: it says it
      // listens, and a request goes through.
      await waitFor(() => /worker \d+ \(pid \d+\) listening/.test(lb.log()), 10_000, { stepMs: 50, what: withLog('the re-forked worker listening') });
      await waitFor(async () => (await httpRequest(`http://127.0.0.1:${lb.port}/`)).status === 200, 10_000, { what: withLog('a 200 after the re-fork') });
      // A worker that cannot bind exits with code 1 (it never says it listens).
      assert.equal(workerPids(lb.child.pid!).length, 2);
      assert.doesNotMatch(lb.log(), /exited \(code 1\)/);
      assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/`)).status, 200);
      assert.equal(await freshGets(lb.port, 40, 3_000), 40);
    } finally {
      lb.kill();
      await backend.close();
    }
  });
});
