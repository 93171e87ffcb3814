import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { distPath } from '../../common/paths.js';

const MiB = 1024 * 1024;

/** Peak resident memory of a process so far (VmHWM), bytes. */
function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

// The backend runs in its own process so that its memory is measured apart
// from the client's buffers.
describe('backend streaming (separate process)', () => {
  let child: ChildProcess;
  let port: number;
  before(async () => {
    const main = new URL(`file://${distPath('backend/main.js')}`).href;
    child = spawn(
      process.execPath,
      ['--input-type=module', '-e', `import { runBackend } from ${JSON.stringify(main)}; await runBackend({ port: 0, host: '127.0.0.1' });`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /lbbench-backend ready name=backend-(\d+) port=(\d+)/.exec(out);
        if (m) resolve(Number(m[2]));
      });
      child.once('exit', (code) => reject(new Error(`backend exited early with ${code}`)));
    });
  });
  after(async () => {
    if (child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('echoes a body piece by piece before it has all arrived (64 x 1 MiB, lockstep)', { timeout: 20_000 }, async () => {
    // Each piece is sent only after the previous one came back, which would
    // deadlock if the backend buffered the whole body before answering.
    const sentHash = createHash('sha256');
    const gotHash = createHash('sha256');
    const total = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/echo', method: 'POST', agent: false });
      let sent = 0;
      let received = 0;
      const sendNext = (): void => {
        if (sent === 64 * MiB) {
          req.end();
          return;
        }
        const piece = Buffer.alloc(MiB, sent / MiB);
        sentHash.update(piece);
        sent += piece.length;
        req.write(piece);
      };
      req.on('response', (res) => {
        res.on('data', (c: Buffer) => {
          gotHash.update(c);
          received += c.length;
          if (received === sent) sendNext();
        });
        res.on('end', () => resolve(received));
        res.on('error', reject);
      });
      req.on('error', reject);
      sendNext();
    });
    assert.equal(total, 64 * MiB);
    assert.equal(gotHash.digest('hex'), sentHash.digest('hex'));
  });

  it('echoes 64 MiB at full speed without its RSS growing by 64 MiB', { timeout: 20_000 }, async () => {
    const before = peakRssBytes(child.pid!);
    const piece = Buffer.alloc(MiB, 'e');
    const echoed = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/echo', method: 'POST', agent: false, headers: { 'content-length': 64 * MiB } }, (res) => {
        assert.equal(res.headers['content-length'], String(64 * MiB));
        let n = 0;
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () => resolve(n));
        res.on('error', reject);
      });
      req.on('error', reject);
      let i = 0;
      const write = (): void => {
        while (i < 64) {
          i++;
          if (!req.write(piece)) {
            req.once('drain', write);
            return;
          }
        }
        req.end();
      };
      write();
    });
    assert.equal(echoed, 64 * MiB);
    const growth = peakRssBytes(child.pid!) - before;
    assert.ok(growth < 64 * MiB, `peak RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  });

  it('serves /bytes/1GiB with bounded memory', { timeout: 30_000 }, async () => {
    const before = peakRssBytes(child.pid!);
    const n = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: `/bytes/${1024 * MiB}`, agent: false }, (res) => {
          assert.equal(res.headers['content-length'], String(1024 * MiB));
          let got = 0;
          res.on('data', (c: Buffer) => (got += c.length));
          res.on('end', () => resolve(got));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    assert.equal(n, 1024 * MiB);
    const growth = peakRssBytes(child.pid!) - before;
    assert.ok(growth < 64 * MiB, `peak RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  });

  it('stops streaming /bytes when the client goes away, and keeps serving', { timeout: 10_000 }, async () => {
    const before = await getStats(port);
    await new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: `/bytes/${100 * 1024 * MiB}`, agent: false }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (got > 4 * MiB) req.destroy();
        });
        res.on('error', () => {});
        res.on('close', () => resolve());
      });
      req.on('error', () => {});
    });
    const after = await getStats(port);
    const sent = after.bytes.out - before.bytes.out;
    // Far less than the 100 GiB asked for was ever handed to the socket.
    assert.ok(sent > 4 * MiB && sent < 256 * MiB, `bytes out ${sent}`);
  });
});

function getStats(port: number): Promise<{ bytes: { out: number } }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/stats', agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(JSON.parse(body) as { bytes: { out: number } }));
      })
      .on('error', reject);
  });
}
