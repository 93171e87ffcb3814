import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { createBackendServer } from '../../backend/server.js';
import { runBackend } from '../../backend/main.js';
import { backendCommand } from '../../harness/cli/backend.js';
import { InvalidRunError, UsageError } from '../../common/errors.js';
import { BIN_PATH, distPath } from '../../common/paths.js';
import { waitFor, within } from '../wait-for.js';

function get(port: number, path: string, agent: http.Agent | false = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('backend lifecycle', () => {
  it('close() lets in-flight requests finish and closes idle keep-alive connections promptly', async (t) => {
    // Keep-alive timeout and drain of ten minutes: close() returning soon shows it closed the
    // connections that went idle itself, rather than waiting for either timer.
    const server = createBackendServer({ host: '127.0.0.1', name: 'closing', keepAliveTimeoutMs: 600_000, drainMs: 600_000 });
    const port = await server.listen();
    const agent = new http.Agent({ keepAlive: true });
    t.after(() => agent.destroy());
    await get(port, '/echo', agent); // leaves an idle keep-alive connection
    const inflight = get(port, '/delay/300', agent);
    // close() must find /delay/300 in flight: wait until the server has it (a
    // 50 ms sleep did not ensure that on a busy runner).
    await waitFor(() => server.stats.requestsTotal === 2, 10_000, { what: () => `2 requests at the server (${server.stats.requestsTotal})` });
    await within(server.close(), 30_000, 'close() of a backend whose connections go idle');
    const res = await inflight;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'closing\n');
    assert.equal(server.stats.connectionsOpen, 0);
    await assert.rejects(get(port, '/echo'), /ECONNREFUSED/);
    await server.close(); // idempotent
  });

  it('close() destroys requests still running after drainMs', async () => {
    const server = createBackendServer({ host: '127.0.0.1', drainMs: 200 });
    const port = await server.listen();
    const slow = get(port, '/delay/60000').catch((err: Error) => err);
    await new Promise((r) => setTimeout(r, 50));
    // The request would run for 60 s: close() returning well before shows drainMs cut it.
    await within(server.close(), 30_000, 'close() with a request running past drainMs');
    assert.ok((await slow) instanceof Error);
  });

  it('survives clients that misbehave', async (t) => {
    const server = createBackendServer({ host: '127.0.0.1', name: 'sturdy' });
    t.after(() => server.close());
    const port = await server.listen();
    const rawExchange = (payload: string, destroyAfterMs: number): Promise<void> =>
      new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write(payload));
        socket.on('data', () => {});
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        setTimeout(() => socket.destroy(), destroyAfterMs);
      });
    await rawExchange('NOT HTTP AT ALL\r\n\r\n', 200);
    // Body promised and never sent in full, then the client vanishes.
    await rawExchange('POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000\r\n\r\npartial', 100);
    await rawExchange('POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n', 100);
    await rawExchange('POST /control HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{"late', 100);
    await rawExchange(`GET /bytes/${1 << 30} HTTP/1.1\r\nhost: x\r\n\r\n`, 50);
    server.setFaults({ latencyMs: 200 });
    await rawExchange('GET /echo HTTP/1.1\r\nhost: x\r\n\r\n', 20);
    server.setFaults({ latencyMs: 0, closeRate: 1 });
    await rawExchange('POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello', 100);
    server.reset();
    const res = await get(port, '/echo');
    assert.equal(res.body, 'sturdy\n');
  });

  it('close() before listen() resolves', async () => {
    await createBackendServer().close();
  });

  it('listen() on a busy port rejects with InvalidRunError', async (t) => {
    const first = createBackendServer({ host: '127.0.0.1' });
    t.after(() => first.close());
    const port = await first.listen();
    const second = createBackendServer({ host: '127.0.0.1', port });
    await assert.rejects(second.listen(), (err: unknown) => {
      assert.ok(err instanceof InvalidRunError);
      assert.equal(err.code, 'LBB_ERR_BACKEND_LISTEN');
      assert.equal(err.exitCode, 3);
      assert.match(err.message, /EADDRINUSE/);
      return true;
    });
  });

  it('runBackend prints the ready line, serves, and stops on its signal', async () => {
    const stdout = new PassThrough();
    const controller = new AbortController();
    const done = runBackend({ host: '127.0.0.1', port: 0, name: 'run-test' }, { signal: controller.signal, stdout });
    const [line] = (await once(stdout, 'data')) as [Buffer];
    const m = /^lbbench-backend ready name=run-test port=(\d+)\n$/.exec(line.toString());
    assert.ok(m, line.toString());
    const port = Number(m[1]);
    assert.equal((await get(port, '/echo')).body, 'run-test\n');
    const metrics = await get(port, '/metrics');
    assert.match(metrics.body, /process_resident_memory_bytes/);
    controller.abort();
    await done;
    await assert.rejects(get(port, '/echo'), /ECONNREFUSED/);
  });

  it('backendCommand rejects bad flag values with UsageError before starting', async () => {
    const cases: [string[], RegExp][] = [
      [['--port', 'x'], /--port/],
      [['--port', '70000'], /--port/],
      [['--port', '0', '--error-rate', '2'], /--error-rate/],
      [['--port', '0', '--close-rate', 'lots'], /--close-rate/],
      [['--port', '0', '--latency-ms', '-5'], /--latency-ms/],
      [['--port', '0', '--name', 'has space'], /name/],
      [['--port', '0', '--drain-ms', '1.5'], /--drain-ms/],
    ];
    for (const [args, message] of cases) {
      const cmd = backendCommand().exitOverride();
      await assert.rejects(cmd.parseAsync(args, { from: 'user' }), (err: unknown) => {
        assert.ok(err instanceof UsageError, `${args.join(' ')}: ${String(err)}`);
        assert.match(err.message, message);
        return true;
      });
    }
  });

  it('backendCommand requires --port and documents itself', async () => {
    const cmd = backendCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => {}, writeOut: () => {} });
    await assert.rejects(cmd.parseAsync([], { from: 'user' }), /--port/);
    const help = backendCommand().helpInformation();
    for (const flag of ['--port', '--host', '--name', '--latency-ms', '--error-rate', '--close-rate', '--hang', '--unhealthy']) {
      assert.ok(help.includes(flag), flag);
    }
  });

  it('`lbbench backend --port 0` runs as a process and exits 0 on SIGTERM', { timeout: 15_000 }, async (t) => {
    if (!existsSync(distPath('harness/cli/main.js'))) {
      t.skip('dist/harness/cli/main.js is absent (the CLI entry is not built yet)');
      return;
    }
    const child = spawn(process.execPath, [BIN_PATH, 'backend', '--port', '0', '--host', '127.0.0.1', '--name', 'cli-test', '--latency-ms', '10'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /lbbench-backend ready name=cli-test port=(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${stderr}`)));
    });
    const res = await get(port, '/echo');
    assert.equal(res.body, 'cli-test\n');
    const control = JSON.parse((await get(port, '/control')).body) as { latencyMs: number };
    assert.equal(control.latencyMs, 10);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, stderr);
  });

  it('`lbbench backend` exits 2 on a bad flag value', { timeout: 15_000 }, async (t) => {
    if (!existsSync(distPath('harness/cli/main.js'))) {
      t.skip('dist/harness/cli/main.js is absent (the CLI entry is not built yet)');
      return;
    }
    const child = spawn(process.execPath, [BIN_PATH, 'backend', '--port', '0', '--error-rate', '1.5'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.match(stderr, /--error-rate/);
  });
});
