/**
 * Orchestration of the system under test: the test backends and the
 * balancer as child processes (execa), started from the config, waited for
 * until they actually answer, and stopped so that no process of ours is left
 * and every port is free again.
 *
 * Children stay in the harness's process group, so a terminal Ctrl-C reaches
 * them too; the harness still sends SIGTERM itself and waits, and a
 * process-exit hook SIGKILLs whatever is still alive as a last resort.
 */
import http from 'node:http';
import { isIP } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { parseConfigText, type LbbenchConfig, type LbConfig } from '../common/config.js';
import { InvalidRunError, UsageError } from '../common/errors.js';
import { BIN_PATH } from '../common/paths.js';
import { LineRing, forEachLine, prefixLine } from './log-prefix.js';
import { assertPortsFree, connectHost, findFreePort, isLoopbackHost, type PortClaim } from './ports.js';
import { processTree, readProcStat } from './proc-stats.js';
import type { DeepPartial, ServiceInfo, Services } from './scenario-api.js';

/** Name of the balancer in logs, tables and samples. Its workers are
 * `lb-worker-1`, `lb-worker-2`, ... (by ascending PID). */
export const LB_SERVICE_NAME = 'lb';

/** After SIGTERM, a child gets this long to exit before SIGKILL, ms. */
export const STOP_GRACE_MS = 5_000;

/** Period of readiness probes while waiting for a service, ms. */
const PROBE_INTERVAL_MS = 50;
/** One readiness probe gives up after this, ms. */
const PROBE_TIMEOUT_MS = 1_000;
/** Stderr lines of a child kept for error messages. */
const STDERR_TAIL_LINES = 20;

const BACKEND_READY = /lbbench-backend ready name=(\S+) port=(\d+)/;

/** Preloaded into every child: it stops itself when the harness is gone. */
const WATCHDOG_URL = new URL('./parent-watchdog.js', import.meta.url).href;

/** Options of startServices. */
export interface StartServicesOptions {
  /** Use services that are already running at the configured URLs and start
   * nothing; kill/restart then throw UsageError. Default false. */
  attach?: boolean;
  /** Receives each line a child prints, already prefixed with the child's
   * name (`backend-8001 | ...`), and the stream it came from. Default: lines
   * are dropped (the last stderr lines are kept for error messages anyway). */
  log?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Aborting stops whatever was started and rejects (Ctrl-C during start). */
  signal?: AbortSignal;
}

/** A service that exited without the harness asking it to. */
export interface ServiceExit {
  name: string;
  role: 'lb' | 'backend';
  pid: number;
  /** Exit code, or null when a signal ended it. */
  exitCode: number | null;
  signal: string | null;
  /** When the exit was seen, ms since epoch. */
  atMs: number;
  /** Its last stderr lines, oldest first. */
  stderrTail: string[];
}

/** Services plus the controls only the harness needs. */
export interface ManagedServices extends Services {
  /** True in `--attach` mode: nothing was started by us. */
  readonly attached: boolean;
  /** The `lb` section the balancer currently runs with (ports resolved,
   * overrides applied). */
  readonly lbConfig: LbConfig;
  /** Services that exited on their own, in order, since start. */
  unexpectedExits(): ServiceExit[];
  /** Calls `listener` on every unexpected exit; returns an unsubscribe. */
  onUnexpectedExit(listener: (exit: ServiceExit) => void): () => void;
  /** SIGTERM to every child, SIGKILL after STOP_GRACE_MS, resolves when all
   * of them and their descendants are gone. Idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Children and the last-resort exit hook

type ExitInfo = { exitCode: number | null; signal: string | null };

/** One child process we started. */
class ManagedChild {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  readonly stderrTail = new LineRing(STDERR_TAIL_LINES);
  /** Set before we kill it on purpose, so its exit is not reported. */
  expectedExit = false;
  alive = true;
  private readonly proc: ReturnType<typeof execa>;
  /** Resolves when stdout and stderr have ended (all output read). */
  private readonly drained: Promise<unknown>;

  constructor(
    readonly name: string,
    readonly role: 'lb' | 'backend',
    args: string[],
    onLine: (line: string, stream: 'stdout' | 'stderr') => void,
  ) {
    this.proc = execa(process.execPath, ['--import', WATCHDOG_URL, BIN_PATH, ...args], {
      reject: false,
      buffer: false,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      // Our own stop() and exit hook handle termination; execa's hooks would
      // race with them.
      cleanup: false,
      forceKillAfterDelay: false,
    });
    this.drained = this.proc.then(
      () => undefined,
      () => undefined,
    );
    if (this.proc.pid === undefined) {
      // Spawning node itself failed (EAGAIN, EMFILE): report it like an exit.
      this.pid = 0;
      this.alive = false;
      this.exited = this.proc.then(
        (r) => ({ exitCode: r.exitCode ?? null, signal: r.signal ?? null }),
        () => ({ exitCode: null, signal: null }),
      );
      return;
    }
    this.pid = this.proc.pid;
    live.add(this);
    installExitHook();
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.alive = false;
        live.delete(this);
        resolve({ exitCode: code, signal });
      });
    });
    if (this.proc.stdout) forEachLine(this.proc.stdout, (line) => onLine(line, 'stdout'));
    if (this.proc.stderr) {
      forEachLine(this.proc.stderr, (line) => {
        this.stderrTail.push(line);
        onLine(line, 'stderr');
      });
    }
  }

  /** Sends `signal`; never throws (the child may be gone already). */
  kill(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // ESRCH: it exited between our check and the signal.
    }
  }

  /**
   * Stops the child and its descendants: `signal`, then SIGKILL after
   * `graceMs`; resolves once all of them are gone. Descendants (balancer
   * workers) are snapshotted first, since they are re-parented to init
   * when the primary dies and could otherwise outlive it.
   */
  async terminate(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    this.expectedExit = true;
    if (!this.alive) return;
    const tree = processTree(this.pid).slice(1);
    this.kill(signal);
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    await killStragglers(tree, graceMs);
  }

  /** Output read so far is complete after this (bounded wait, ms). */
  async settleOutput(maxWaitMs = 300): Promise<void> {
    await Promise.race([this.drained, sleep(maxWaitMs)]);
  }
}

const live = new Set<ManagedChild>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', killAllChildrenNow);
}

/**
 * SIGKILLs every child still alive and its descendants, synchronously. For
 * the process-exit hook and a second Ctrl-C; stop() is the graceful path.
 */
export function killAllChildrenNow(): void {
  for (const child of live) {
    child.expectedExit = true;
    for (const pid of processTree(child.pid).reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

/** SIGTERMs leftover descendants, then SIGKILLs them; resolves when gone. */
async function killStragglers(pids: number[], graceMs: number): Promise<void> {
  const alive = (): number[] => pids.filter((pid) => readProcStat(pid) !== undefined);
  let left = alive();
  if (left.length === 0) return;
  for (const pid of left) trySignal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while ((left = alive()).length > 0 && Date.now() < deadline) await sleep(PROBE_INTERVAL_MS);
  for (const pid of left) trySignal(pid, 'SIGKILL');
  while (alive().length > 0 && Date.now() < deadline + 2_000) await sleep(PROBE_INTERVAL_MS);
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

// ---------------------------------------------------------------------------
// Probes

/**
 * One HTTP GET with no keep-alive; resolves the status code, or undefined
 * when nothing answered within `timeoutMs`. Never rejects.
 */
export function probeHttp(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<number | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: number | undefined): void => {
      if (done) return;
      done = true;
      resolve(status);
    };
    try {
      const req = http.get(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
        finish(res.statusCode);
        res.resume();
        res.on('error', () => undefined);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => finish(undefined));
    } catch {
      finish(undefined);
    }
  });
}

interface WaitOptions {
  what: string;
  deadlineMs: number;
  signal: AbortSignal | undefined;
  child?: ManagedChild;
}

/**
 * Polls `ready` until it resolves true. Throws InvalidRunError when the
 * child exits first (with its last stderr lines) or the deadline passes, and
 * an `LBB_ERR_INTERRUPTED` InvalidRunError when `signal` aborts.
 */
async function waitUntil(ready: () => Promise<boolean>, opts: WaitOptions): Promise<void> {
  const started = Date.now();
  const exited = opts.child ? opts.child.exited.then((e) => e) : new Promise<ExitInfo>(() => undefined);
  let exit: ExitInfo | undefined;
  void exited.then((e) => (exit = e));
  for (;;) {
    if (opts.signal?.aborted) throw interrupted(opts.what);
    if (exit && opts.child) throw await startFailure(opts.child, opts.what, exitText(exit));
    if (await ready()) return;
    if (exit && opts.child) throw await startFailure(opts.child, opts.what, exitText(exit));
    if (Date.now() - started >= opts.deadlineMs) {
      if (opts.child) throw await startFailure(opts.child, opts.what, `did not answer within ${opts.deadlineMs} ms (harness.startTimeoutMs)`);
      throw new InvalidRunError('LBB_ERR_SERVICE_START', `${opts.what} did not answer within ${opts.deadlineMs} ms`);
    }
    await Promise.race([sleep(PROBE_INTERVAL_MS), exited]);
  }
}

function exitText(e: ExitInfo): string {
  return e.signal ? `exited on ${e.signal}` : `exited with code ${e.exitCode}`;
}

async function startFailure(child: ManagedChild, what: string, reason: string): Promise<InvalidRunError> {
  await child.settleOutput();
  const tail = child.stderrTail.toArray();
  const detail = tail.length ? `; its last stderr lines:\n${tail.map((l) => `  ${child.name} | ${l}`).join('\n')}` : '';
  return new InvalidRunError('LBB_ERR_SERVICE_START', `${what} (pid ${child.pid}) ${reason}${detail}`);
}

function interrupted(what: string): InvalidRunError {
  return new InvalidRunError('LBB_ERR_INTERRUPTED', `interrupted while waiting for ${what}`);
}

// ---------------------------------------------------------------------------
// Config helpers

/**
 * Deep-merges `overrides` into a copy of `base`: objects merge key by key,
 * arrays and scalars replace. `base` is not modified.
 */
export function mergeOverrides<T>(base: T, overrides: DeepPartial<T> | undefined): T {
  const out = structuredClone(base) as unknown;
  if (overrides === undefined) return out as T;
  return mergeInto(out, overrides) as T;
}

function mergeInto(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch) || !isPlainObject(target)) return structuredClone(patch);
  const t = target as Record<string, unknown>;
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    t[k] = isPlainObject(v) && isPlainObject(t[k]) ? mergeInto(t[k], v) : structuredClone(v);
  }
  return t;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Base URL of the balancer's listen address, e.g. `http://127.0.0.1:8080`. */
export function lbBaseUrl(lb: LbConfig): string {
  return `http://${connectHost(lb.listen.host)}:${lb.listen.port}`;
}

/** The balancer's metrics URL, e.g. `http://127.0.0.1:9090/metrics`. */
export function lbMetricsUrl(lb: LbConfig): string {
  return `http://${connectHost(lb.metrics.host)}:${lb.metrics.port}/metrics`;
}

// ---------------------------------------------------------------------------
// startServices

/**
 * Starts every loopback backend of `config.lb.backends` (one `lbbench
 * backend` process each), then the balancer (`lbbench lb` with the effective
 * config written to a temp file, ports 0 resolved), and resolves once each
 * answers: a backend on GET /health with 200, the balancer on GET /metrics
 * with 200 and on a proxied GET /health with a status below 500. Each must
 * answer within `config.harness.startTimeoutMs`.
 *
 * Throws InvalidRunError (exit 3) when a port is busy (`LBB_ERR_PORT_BUSY`,
 * naming the port), a service exits or never answers
 * (`LBB_ERR_SERVICE_START`, with its last stderr lines) or `opts.signal`
 * aborts (`LBB_ERR_INTERRUPTED`); whatever had started is stopped first.
 * Non-loopback backends are never started: they are expected to run.
 */
export async function startServices(config: LbbenchConfig, opts: StartServicesOptions = {}): Promise<ManagedServices> {
  const orchestrator = new Orchestrator(config, opts);
  try {
    if (opts.attach) await orchestrator.attach();
    else await orchestrator.start();
  } catch (err) {
    await orchestrator.stop();
    throw err;
  }
  return orchestrator.api();
}

interface BackendSlot {
  name: string;
  /** Host of the configured URL, used to reach it. */
  host: string;
  /** Resolved port (0 until the backend has reported the one it bound). */
  port: number;
  /** True when we start and stop this backend. */
  managed: boolean;
  child?: ManagedChild;
}

class Orchestrator {
  private readonly backendSlots: BackendSlot[];
  private readonly backendUrls = new Map<string, string>();
  private lb: ManagedChild | undefined;
  private currentLb: LbConfig;
  private lbPort = 0;
  private metricsPort = 0;
  private tmpDir: string | undefined;
  private readonly exits: ServiceExit[] = [];
  private readonly exitListeners = new Set<(e: ServiceExit) => void>();
  private stopping: Promise<void> | undefined;
  private attachedPids: number[] = [];
  private readonly attachedBackendPids = new Map<string, number>();
  private readonly nameWidth: number;

  constructor(
    private readonly config: LbbenchConfig,
    private readonly opts: StartServicesOptions,
  ) {
    this.backendSlots = config.lb.backends.map((b) => {
      const u = new URL(b.url);
      return { name: b.name, host: u.hostname, port: Number(u.port || 80), managed: !opts.attach && isLoopbackHost(u.hostname) };
    });
    for (const b of config.lb.backends) this.backendUrls.set(b.name, b.url.replace(/\/$/, ''));
    this.currentLb = mergeOverrides(config.lb, {});
    this.nameWidth = Math.max(LB_SERVICE_NAME.length, ...this.backendSlots.map((s) => s.name.length));
  }

  private get deadlineMs(): number {
    return this.config.harness.startTimeoutMs;
  }

  async start(): Promise<void> {
    const lb = this.config.lb;
    const claims: PortClaim[] = [
      ...this.backendSlots.filter((s) => s.managed).map((s) => ({ port: s.port, host: isIP(s.host) !== 0 ? s.host : '0.0.0.0', owner: s.name })),
      { port: lb.listen.port, host: lb.listen.host, owner: 'balancer listen' },
      { port: lb.metrics.port, host: lb.metrics.host, owner: 'balancer metrics' },
    ];
    await assertPortsFree(claims);
    // Backends start in parallel; the balancer needs their resolved ports.
    await Promise.all(this.backendSlots.filter((s) => s.managed).map((s) => this.startBackend(s)));
    this.lbPort = lb.listen.port || (await findFreePort(lb.listen.host));
    this.metricsPort = lb.metrics.port || (await findFreePort(lb.metrics.host));
    await this.startBalancer({});
  }

  async attach(): Promise<void> {
    this.currentLb = mergeOverrides(this.config.lb, {});
    this.lbPort = this.currentLb.listen.port;
    this.metricsPort = this.currentLb.metrics.port;
    if (this.lbPort === 0 || this.metricsPort === 0) {
      throw new UsageError('--attach needs fixed ports in the config (lb.listen.port and lb.metrics.port are 0)');
    }
    const lb = this.effectiveLb();
    await waitUntil(async () => (await probeHttp(lbMetricsUrl(lb))) === 200, {
      what: `the running balancer's metrics at ${lbMetricsUrl(lb)} (--attach)`,
      deadlineMs: this.deadlineMs,
      signal: this.opts.signal,
    });
    this.attachedPids = await findListeningPids(this.lbPort);
    // Backends' PIDs too, so their CPU is sampled; not found means not sampled.
    for (const slot of this.backendSlots) {
      if (!isLoopbackHost(slot.host)) continue;
      const pid = (await findListeningPids(slot.port))[0];
      if (pid !== undefined) this.attachedBackendPids.set(slot.name, pid);
    }
  }

  private emit(name: string, line: string, stream: 'stdout' | 'stderr'): void {
    this.opts.log?.(prefixLine(name, line, this.nameWidth), stream);
  }

  private spawn(name: string, role: 'lb' | 'backend', args: string[]): ManagedChild {
    const child = new ManagedChild(name, role, args, (line, stream) => {
      if (stream === 'stdout') this.routeStdout(name, line);
      this.emit(name, line, stream);
    });
    void child.exited.then(async (e) => {
      if (child.expectedExit || this.stopping) return;
      await child.settleOutput();
      const exit: ServiceExit = { name, role, pid: child.pid, exitCode: e.exitCode, signal: e.signal, atMs: Date.now(), stderrTail: child.stderrTail.toArray() };
      this.exits.push(exit);
      for (const l of this.exitListeners) {
        try {
          l(exit);
        } catch {
          // A listener's bug must not hide the exit from the others.
        }
      }
    });
    return child;
  }

  private async startBackend(slot: BackendSlot): Promise<void> {
    let reportedPort: number | undefined;
    const args = ['backend', '--port', String(slot.port), '--name', slot.name];
    // Bind the address of the URL when it is a literal (127.0.0.1), so a test
    // backend is not exposed beyond loopback; `localhost` keeps the wildcard.
    if (isIP(slot.host) !== 0) args.push('--host', slot.host);
    const child = this.spawn(slot.name, 'backend', args);
    slot.child = child;
    // A backend started on port 0 tells its port in its ready line; the
    // listener is attached synchronously after spawn, before any output.
    const onReady = (line: string): void => {
      const m = BACKEND_READY.exec(line);
      if (m) reportedPort = Number(m[2]);
    };
    const unwatch = this.watchStdout(slot.name, onReady);
    try {
      await waitUntil(
        async () => {
          const port = slot.port || reportedPort;
          if (!port) return false;
          const ok = (await probeHttp(`http://${connectHost(slot.host)}:${port}/health`)) === 200;
          if (ok) slot.port = port;
          return ok;
        },
        { what: `backend ${slot.name}`, deadlineMs: this.deadlineMs, signal: this.opts.signal, child },
      );
    } finally {
      unwatch();
    }
    this.backendUrls.set(slot.name, `http://${connectHost(slot.host)}:${slot.port}`);
  }

  private readonly stdoutWatchers = new Map<string, Set<(line: string) => void>>();

  private watchStdout(name: string, fn: (line: string) => void): () => void {
    let set = this.stdoutWatchers.get(name);
    if (!set) this.stdoutWatchers.set(name, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  /** The lb section with the configured overrides, resolved ports and the
   * backends' actual URLs. */
  private effectiveLb(overrides: DeepPartial<LbConfig> = {}): LbConfig {
    const merged = mergeOverrides(this.config.lb, overrides);
    merged.listen.port = this.lbPort;
    merged.metrics.port = this.metricsPort;
    merged.backends = merged.backends.map((b) => ({ ...b, url: this.backendUrls.get(b.name) ?? b.url }));
    return merged;
  }

  private async startBalancer(overrides: DeepPartial<LbConfig>): Promise<void> {
    const lb = this.effectiveLb(overrides);
    this.tmpDir ??= mkdtempSync(path.join(os.tmpdir(), 'lbbench-'));
    const file = path.join(this.tmpDir, 'lb-config.yaml');
    const text = `# Effective balancer config written by the lbbench harness.\n${stringify({ lb, harness: this.config.harness })}`;
    // Overrides come from scenario files; validate the merged result the way
    // the balancer will, so a bad override is an input error, not a crash.
    this.currentLb = parseConfigText(file, text).lb;
    writeFileSync(file, text);
    const child = this.spawn(LB_SERVICE_NAME, 'lb', ['lb', '--config', file]);
    this.lb = child;
    const base = lbBaseUrl(lb);
    const metrics = lbMetricsUrl(lb);
    await waitUntil(async () => (await probeHttp(metrics)) === 200, {
      what: `the balancer's metrics endpoint ${metrics}`,
      deadlineMs: this.deadlineMs,
      signal: this.opts.signal,
      child,
    });
    // Metrics can answer before the proxy listens or before health checks
    // have marked any backend up; only a proxied answer means "ready".
    await waitUntil(
      async () => {
        const status = await probeHttp(`${base}/health`);
        return status !== undefined && status < 500;
      },
      { what: `the balancer at ${base} (proxied GET /health)`, deadlineMs: this.deadlineMs, signal: this.opts.signal, child },
    );
  }

  private routeStdout(name: string, line: string): void {
    const set = this.stdoutWatchers.get(name);
    if (set) for (const fn of set) fn(line);
  }

  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      // The balancer first, so it stops sending to backends that go away.
      await this.lb?.terminate('SIGTERM', STOP_GRACE_MS);
      await Promise.all(this.backendSlots.map((s) => s.child?.terminate('SIGTERM', STOP_GRACE_MS)));
      if (this.tmpDir) rmSync(this.tmpDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  private requireManaged(what: string): void {
    if (this.opts.attach) throw new UsageError(`${what} is not possible with --attach: the harness did not start the services`);
  }

  private slot(name: string): BackendSlot {
    const slot = this.backendSlots.find((s) => s.name === name);
    if (!slot) throw new UsageError(`unknown backend "${name}"; configured: ${this.backendSlots.map((s) => s.name).join(', ')}`);
    if (!slot.managed) throw new UsageError(`backend "${name}" was not started by the harness (not a loopback URL or --attach)`);
    return slot;
  }

  private workerPids(): number[] {
    if (this.opts.attach) return this.attachedPids.slice(1).filter((pid) => readProcStat(pid) !== undefined);
    return this.lb?.alive ? processTree(this.lb.pid).slice(1) : [];
  }

  api(): ManagedServices {
    const self = this;
    return {
      attached: this.opts.attach === true,
      get lbConfig() {
        return self.currentLb;
      },
      get lbUrl() {
        return lbBaseUrl(self.currentLb);
      },
      get metricsUrl() {
        return lbMetricsUrl(self.currentLb);
      },
      get backends() {
        return new Map(self.backendUrls) as ReadonlyMap<string, string>;
      },
      list(): ServiceInfo[] {
        const out: ServiceInfo[] = [];
        const lbUrl = lbBaseUrl(self.currentLb);
        const primary = self.opts.attach ? self.attachedPids[0] : self.lb?.alive ? self.lb.pid : undefined;
        if (primary !== undefined) out.push({ name: LB_SERVICE_NAME, role: 'lb', pid: primary, url: lbUrl });
        self
          .workerPids()
          .sort((a, b) => a - b)
          .forEach((pid, i) => out.push({ name: `${LB_SERVICE_NAME}-worker-${i + 1}`, role: 'lb', pid, url: lbUrl }));
        for (const s of self.backendSlots) {
          const pid = s.child?.alive ? s.child.pid : self.attachedBackendPids.get(s.name);
          if (pid !== undefined && (s.child || readProcStat(pid))) out.push({ name: s.name, role: 'backend', pid, url: self.backendUrls.get(s.name)! });
        }
        return out;
      },
      balancerPids(): number[] {
        if (self.opts.attach) return self.attachedPids.filter((pid) => readProcStat(pid) !== undefined);
        return self.lb?.alive ? processTree(self.lb.pid) : [];
      },
      async killBackend(name: string): Promise<void> {
        self.requireManaged('killBackend');
        const slot = self.slot(name);
        await slot.child?.terminate('SIGKILL', STOP_GRACE_MS);
      },
      async restartBackend(name: string): Promise<void> {
        self.requireManaged('restartBackend');
        const slot = self.slot(name);
        if (slot.child?.alive) return;
        await self.startBackend(slot);
      },
      async restartBalancer(overrides: DeepPartial<LbConfig>): Promise<void> {
        self.requireManaged('restartBalancer');
        await self.lb?.terminate('SIGTERM', STOP_GRACE_MS);
        await self.startBalancer(overrides);
      },
      unexpectedExits(): ServiceExit[] {
        return [...self.exits];
      },
      onUnexpectedExit(listener: (e: ServiceExit) => void): () => void {
        self.exitListeners.add(listener);
        return () => self.exitListeners.delete(listener);
      },
      stop(): Promise<void> {
        return self.stop();
      },
    };
  }
}

// ---------------------------------------------------------------------------
// --attach: find the processes that listen on the balancer's port

/**
 * PIDs of the processes holding a listening TCP socket on `port` (read from
 * /proc/net/tcp{,6} and /proc/<pid>/fd), primary first: the one whose parent
 * is not in the set, then its descendants. Empty when not found or not
 * permitted; attach mode then samples no balancer process.
 */
export async function findListeningPids(port: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // 0A = LISTEN
      const localPort = parseInt(f[1]!.split(':').pop()!, 16);
      if (localPort === port) inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return [];
  const holders: number[] = [];
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    for (const fd of safeReaddir(`/proc/${entry}/fd`)) {
      let link = '';
      try {
        link = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) {
        holders.push(Number(entry));
        break;
      }
    }
  }
  const set = new Set(holders);
  const primary = holders.find((pid) => !set.has(readProcStat(pid)?.ppid ?? -1));
  return primary === undefined ? holders : processTree(primary);
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
