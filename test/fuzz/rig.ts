/**
 * What both fuzzers share: the real balancer in a child process (the
 * cluster, one worker, so a crash of either process shows), a raw client
 * connection that records every byte it gets back, the "a normal request
 * still gets 200" probe, and the fast-check driver with a fixed seed and a
 * time budget that prints the seed, the case count and, on failure, the
 * shrunk counterexample. `FUZZ_NO_SHRINK=1` stops at the first failing
 * case instead (to see the original input while debugging).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { MetricName } from '../../common/metric-names.js';
import { scrape, spawnBalancer, type LbProcess } from '../lb/lb-helpers.js';

/** A balancer child process for one backend. */
export interface FuzzBalancer {
  readonly port: number;
  readonly metricsPort: number;
  /** Both processes alive: the primary has not exited and no worker was
   * restarted since the previous call (so the case in between did it). */
  alive(): Promise<{ ok: boolean; why: string }>;
  /** The balancer's stderr so far (its log lines). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts `lbbench lb` (runBalancer) on port 0 in front of `backendUrl`, with
 * one worker, no retries and no health checks (the backend under test must
 * not be marked down), and `timeouts` merged into its short defaults.
 */
export async function startFuzzBalancer(backendUrl: string, timeouts: Record<string, number> = {}): Promise<FuzzBalancer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lbbench-fuzz-'));
  const t = { connectMs: 1000, headersMs: 2000, bodyMs: 2000, clientIdleMs: 5000, clientHeadersMs: 5000, drainMs: 500, ...timeouts };
  const file = path.join(dir, 'config.yaml');
  writeFileSync(
    file,
    [
      'lb:',
      '  listen: { host: 127.0.0.1, port: 0 }',
      '  metrics: { host: 127.0.0.1, port: 0 }',
      '  workers: 1',
      '  algorithm: round_robin',
      `  backends: [ { name: fuzz, url: "${backendUrl}" } ]`,
      '  health: { active: { enabled: false }, passive: { enabled: false } }',
      '  retries: { max: 0 }',
      `  timeouts: { ${Object.entries(t)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')} }`,
      '',
    ].join('\n'),
  );
  let lb: LbProcess;
  try {
    lb = await spawnBalancer(file);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let restartsSeen = 0;
  return {
    port: lb.port,
    metricsPort: lb.metricsPort,
    log: () => lb.log(),
    async alive() {
      if (lb.child.exitCode !== null || lb.child.signalCode !== null)
        return { ok: false, why: `balancer primary exited (${lb.child.signalCode ?? lb.child.exitCode})` };
      const m = await scrape(lb.metricsPort);
      const restarts = m.get(MetricName.workerRestarts);
      if (restarts > restartsSeen) {
        restartsSeen = restarts;
        // Let the restarted worker listen before the next case, so that case is judged on its own.
        const t0 = Date.now();
        while (Date.now() - t0 < 10_000 && (await probeStatus(lb.port, '/normal').catch(() => ({ status: 0 }))).status !== 200)
          await new Promise((r) => setTimeout(r, 100));
        return { ok: false, why: `a worker died (worker restarts now ${restarts})` };
      }
      return { ok: true, why: '' };
    },
    async stop() {
      lb.child.kill('SIGTERM');
      const exited = await Promise.race([lb.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]);
      if (!exited) lb.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What a client connection saw. */
export interface ClientTranscript {
  /** Every byte the balancer sent. */
  received: Buffer;
  /** The balancer closed (or reset) the connection; false: we gave up and cut it. */
  closedByPeer: boolean;
  /** The connection was reset rather than closed. */
  reset: boolean;
}

/** Options of clientExchange. */
export interface ExchangeOptions {
  /** Pause between writes, ms (so each lands in its own TCP segment). Default 1. */
  gapMs?: number;
  /** Called with the bytes received so far; true: the exchange is done (we close). */
  done?: (received: Buffer) => boolean;
  /** Give up after this long without `done` or a close, ms; then half-close and wait `finMs`. Default 3000. */
  capMs?: number;
  /** After the cap (or `done` with `finAfterDone`), how long to wait for the peer's close, ms. Default 1000. */
  finMs?: number;
  /** Once `done`, wait this long for anything more (a smuggled extra response), ms. Default 20. */
  lingerMs?: number;
}

/** Writes `writes` to the balancer one by one and records the answer. */
export function clientExchange(port: number, writes: readonly Buffer[], opts: ExchangeOptions = {}): Promise<ClientTranscript> {
  const gapMs = opts.gapMs ?? 1;
  const capMs = opts.capMs ?? 3000;
  const finMs = opts.finMs ?? 1000;
  const lingerMs = opts.lingerMs ?? 20;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closed = false;
    let reset = false;
    let settled = false;
    const timers = new Set<NodeJS.Timeout>();
    const later = (ms: number, fn: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    };
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    const finish = (byPeer: boolean) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closedByPeer: byPeer, reset });
    };
    let lingering = false;
    const check = () => {
      if (lingering || !opts.done?.(Buffer.concat(chunks))) return;
      lingering = true;
      later(lingerMs, () => finish(false));
    };
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      check();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') reset = true;
    });
    socket.on('close', () => {
      closed = true;
      finish(true);
    });
    socket.on('connect', () => {
      let i = 0;
      const next = () => {
        if (closed || settled) return;
        const w = writes[i++];
        if (w !== undefined) {
          socket.write(w);
          later(gapMs, next);
          return;
        }
        check();
        later(capMs, () => {
          if (settled) return;
          // No answer and no close: half-close, as a client that is done sending would.
          socket.end();
          later(finMs, () => finish(false));
        });
      };
      next();
    });
  });
}

/** GET `path` on a fresh connection; the status, or the reason there was none. */
export async function probeStatus(port: number, pathName: string): Promise<{ status: number; text: string }> {
  const t = await clientExchange(port, [Buffer.from(`GET ${pathName} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)], { capMs: 3000, finMs: 500 });
  const text = t.received.toString('latin1');
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  return { status: m ? Number(m[1]) : 0, text: text.slice(0, 200) || (t.closedByPeer ? '(closed with no answer)' : '(no answer within 3 s)') };
}

/** Options of runFuzz. */
export interface FuzzRunOptions {
  seed: number;
  /** Stop generating new cases after this long, ms. */
  timeLimitMs: number;
  /** Upper bound of cases. Default 1,000,000 (the time limit decides). */
  maxRuns?: number;
  /** Receives the summary lines (seed, cases, result). */
  print: (line: string) => void;
}

/** What runFuzz found. */
export interface FuzzRunReport {
  name: string;
  seed: number;
  /** Cases run (including the failing one and shrinking steps: not counted). */
  cases: number;
  failed: boolean;
  /** fast-check's report: the seed, path and shrunk counterexample. */
  message: string;
}

/**
 * Runs `property` over `arbitrary` with a fixed seed until `timeLimitMs`
 * passes (not a failure) or a case fails (then fast-check shrinks it).
 */
export async function runFuzz<T>(
  name: string,
  arbitrary: fc.Arbitrary<T>,
  property: (value: T) => Promise<void>,
  opts: FuzzRunOptions,
): Promise<FuzzRunReport> {
  const details = await fc.check(fc.asyncProperty(arbitrary, property), {
    seed: opts.seed,
    numRuns: opts.maxRuns ?? 1_000_000,
    interruptAfterTimeLimit: opts.timeLimitMs,
    markInterruptAsFailure: false,
    endOnFailure: process.env.FUZZ_NO_SHRINK === '1',
  });
  const failed = details.failed;
  const why = details.errorInstance instanceof Error ? details.errorInstance.message : JSON.stringify(details.errorInstance);
  const message = failed ? `${why}\n${fc.defaultReportMessage(details) ?? 'failed'}` : '';
  const report = { name, seed: opts.seed, cases: details.numRuns, failed, message };
  opts.print(`fuzz ${name}: seed ${opts.seed}, ${details.numRuns} case(s)${details.interrupted ? ' (time limit)' : ''}, ${failed ? 'FAILED' : 'no failure'}`);
  if (failed) opts.print(message);
  return report;
}

/** Thrown by a property with what it found. */
export class FuzzViolation extends Error {}

/** Fails the case with `what` unless `ok`. */
export function expect(ok: boolean, what: string): void {
  if (!ok) throw new FuzzViolation(what);
}
