/**
 * Orchestration of the system under test: the test backends as child
 * processes (execa), started from the config and waited for until they
 * actually answer, and one target at a time on the balancer's address
 * (harness/services/targets/: our balancer, nginx, HAProxy, a command, or something
 * already running). Everything is stopped so that no process of ours is
 * left and every port is free again.
 *
 * Children stay in the harness's process group, so a terminal Ctrl-C reaches
 * them too; the harness still sends SIGTERM itself and waits, and a
 * process-exit hook SIGKILLs whatever is still alive as a last resort
 * (harness/services/managed-child.ts).
 */
import { isIP } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { parseConfigText, type LbbenchConfig, type LbConfig } from '../../common/config.js';
import { UsageError } from '../../common/errors.js';
import { deepMerge, type DeepPartial } from '../../common/objects.js';
import { prefixLine } from './log-prefix.js';
import { ManagedChild, type ChildRole, type ManagedChildOptions } from './managed-child.js';
import { assertPortsFree, connectHost, findFreePort, isLoopbackHost, type PortClaim } from './ports.js';
import { readProcStat } from '../sampling/proc-stats.js';
import { probeHttp, waitUntil } from './readiness.js';
import type { ServiceInfo, Services } from '../result/scenario-api.js';
import { findListeningPids } from '../sampling/socket-scan.js';
import { configuredAttachTarget } from './targets/index.js';
import { LbbenchTarget } from './targets/lbbench-target.js';
import { startMetricsBridge, type MetricsBridge } from './targets/metrics-bridge.js';
import { LB_SERVICE_NAME, STOP_GRACE_MS, type Target, type TargetHost, type TargetSummary } from './targets/target.js';

export { killAllChildrenNow } from './managed-child.js';
export { probeHttp } from './readiness.js';
export { findListeningPids } from '../sampling/socket-scan.js';
export { lbBaseUrl, lbMetricsUrl } from './targets/target-helpers.js';
export { LB_SERVICE_NAME, STOP_GRACE_MS };

const BACKEND_READY = /lbbench-backend ready name=(\S+) port=(\d+)/;

/** Options of startServices. */
export interface StartServicesOptions {
  /** Use services that are already running at the configured URLs and start
   * nothing (backends and balancer); kill/restart then throw UsageError.
   * Default false. */
  attach?: boolean;
  /** The balancer to start first. Default our own (`lbbench`); ignored with `attach`. */
  target?: Target;
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
  /** The target on the balancer's address now. */
  readonly target: Target;
  /** Stops the current target and starts `target` on the same address
   * with the configured `lb` section; resolves once it answers. */
  switchTarget(target: Target): Promise<void>;
  /** The current target for the report: name, kind, notes. */
  targetSummary(): TargetSummary;
  /** lbbench metric names the current target cannot provide, with the reason. */
  missingMetrics(): Readonly<Record<string, string>>;
  /** Calls `listener` on every unexpected exit; returns an unsubscribe. */
  onUnexpectedExit(listener: (exit: ServiceExit) => void): () => void;
  /** SIGTERM to every child, SIGKILL after STOP_GRACE_MS, resolves when all
   * of them and their descendants are gone. Idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Config helpers

// ---------------------------------------------------------------------------
// startServices

/**
 * Starts every loopback backend of `config.lb.backends` (one `lbbench
 * backend` process each), then the target (default our balancer, `lbbench
 * lb` with the effective config, ports 0 resolved), and resolves once each
 * answers: a backend on GET /health with 200, the balancer on its metrics
 * and on a proxied GET /health with a status below 500. Each must answer
 * within `config.harness.startTimeoutMs`.
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
    await orchestrator.start();
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
  private target: Target;
  private currentLb: LbConfig;
  private lbPort = 0;
  private metricsPort = 0;
  private metricsUrlNow = '';
  private bridge: MetricsBridge | undefined;
  private tmpDir: string | undefined;
  private readonly exits: ServiceExit[] = [];
  private readonly exitListeners = new Set<(e: ServiceExit) => void>();
  private stopping: Promise<void> | undefined;
  private readonly attachedBackendPids = new Map<string, number>();
  private readonly nameWidth: number;
  /** True in --attach mode: the backends are not ours either. */
  private readonly backendsAttached: boolean;

  constructor(
    private readonly config: LbbenchConfig,
    private readonly opts: StartServicesOptions,
  ) {
    this.backendsAttached = opts.attach === true;
    this.target = this.backendsAttached ? configuredAttachTarget() : (opts.target ?? new LbbenchTarget());
    this.backendSlots = config.lb.backends.map((b) => {
      const u = new URL(b.url);
      return { name: b.name, host: u.hostname, port: Number(u.port || 80), managed: !this.backendsAttached && isLoopbackHost(u.hostname) };
    });
    for (const b of config.lb.backends) this.backendUrls.set(b.name, b.url.replace(/\/$/, ''));
    this.currentLb = deepMerge(config.lb, {});
    this.nameWidth = Math.max(LB_SERVICE_NAME.length, ...this.backendSlots.map((s) => s.name.length));
  }

  private get deadlineMs(): number {
    return this.config.harness.startTimeoutMs;
  }

  async start(): Promise<void> {
    const lb = this.config.lb;
    if (this.backendsAttached) {
      this.lbPort = lb.listen.port;
      this.metricsPort = lb.metrics.port;
      if (this.lbPort === 0 || this.metricsPort === 0) {
        throw new UsageError('--attach needs fixed ports in the config (lb.listen.port and lb.metrics.port are 0)');
      }
      await this.startTarget({});
      // Backends' PIDs too, so their CPU is sampled; not found means not sampled.
      for (const slot of this.backendSlots) {
        if (!isLoopbackHost(slot.host)) continue;
        const pid = (await findListeningPids(slot.port))[0];
        if (pid !== undefined) this.attachedBackendPids.set(slot.name, pid);
      }
      return;
    }
    const claims: PortClaim[] = [
      ...this.backendSlots.filter((s) => s.managed).map((s) => ({ port: s.port, host: isIP(s.host) !== 0 ? s.host : '0.0.0.0', owner: s.name })),
      ...(this.target.managed
        ? [
            { port: lb.listen.port, host: lb.listen.host, owner: 'balancer listen' },
            { port: lb.metrics.port, host: lb.metrics.host, owner: 'balancer metrics' },
          ]
        : []),
    ];
    await assertPortsFree(claims);
    // Backends start in parallel; the balancer needs their resolved ports.
    await Promise.all(this.backendSlots.filter((s) => s.managed).map((s) => this.startBackend(s)));
    this.lbPort = lb.listen.port || (await findFreePort(lb.listen.host));
    // Two listen-on-0 probes in a row can get the same port (the kernel hands out the one just
    // closed), which the balancer then refuses as metrics port = listen port: probe again.
    let metricsPort = lb.metrics.port;
    while (metricsPort === 0 || (lb.metrics.port === 0 && metricsPort === this.lbPort)) metricsPort = await findFreePort(lb.metrics.host);
    this.metricsPort = metricsPort;
    await this.startTarget({});
  }

  private emit(name: string, line: string, stream: 'stdout' | 'stderr'): void {
    this.opts.log?.(prefixLine(name, line, this.nameWidth), stream);
  }

  private spawn(name: string, role: ChildRole, args: string[], options?: ManagedChildOptions): ManagedChild {
    const child = new ManagedChild(
      name,
      role,
      args,
      (line, stream) => {
        if (stream === 'stdout') this.routeStdout(name, line);
        this.emit(name, line, stream);
      },
      options,
    );
    void child.exited.then(async (e) => {
      if (child.expectedExit || this.stopping) return;
      await child.settleOutput();
      const exit: ServiceExit = {
        name,
        role,
        pid: child.pid,
        exitCode: e.exitCode,
        signal: e.signal,
        atMs: Date.now(),
        stderrTail: child.stderrTail.toArray(),
      };
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
    if (this.config.harness.backendLatencyMs > 0) args.push('--latency-ms', String(this.config.harness.backendLatencyMs));
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
    const merged = deepMerge(this.config.lb, overrides);
    merged.listen.port = this.lbPort;
    merged.metrics.port = this.metricsPort;
    merged.backends = merged.backends.map((b) => ({ ...b, url: this.backendUrls.get(b.name) ?? b.url }));
    return merged;
  }

  private host(): TargetHost {
    this.tmpDir ??= mkdtempSync(path.join(os.tmpdir(), 'lbbench-'));
    const dir = path.join(this.tmpDir, this.target.name);
    mkdirSync(dir, { recursive: true });
    return {
      spawn: (args, options) => this.spawn(LB_SERVICE_NAME, 'lb', args, options),
      dir,
      harness: this.config.harness,
      backends: () => this.backendUrls,
      signal: this.opts.signal,
    };
  }

  /** Starts the current target with `overrides`; its metrics in our names
   * come from its own URL or through the bridge. */
  private async startTarget(overrides: DeepPartial<LbConfig>): Promise<void> {
    const lb = this.effectiveLb(overrides);
    // Overrides come from scenario files; validate the merged result the way
    // the balancer will, so a bad override is an input error, not a crash.
    this.currentLb = parseConfigText('effective lb config', stringify({ lb, harness: this.config.harness })).lb;
    const host = this.host();
    await this.target.start(lb, host);
    const m = this.target.metrics(lb, host);
    if ('url' in m) {
      this.metricsUrlNow = m.url;
      return;
    }
    this.bridge ??= await startMetricsBridge();
    this.bridge.adapter = m.adapter;
    this.metricsUrlNow = this.bridge.url;
  }

  async switchTarget(next: Target): Promise<void> {
    if (this.backendsAttached) throw new UsageError('switching targets is not possible with --attach: the harness did not start the services');
    await this.target.stop();
    this.target = next;
    await this.startTarget({});
  }

  private routeStdout(name: string, line: string): void {
    const set = this.stdoutWatchers.get(name);
    if (set) for (const fn of set) fn(line);
  }

  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      // The balancer first, so it stops sending to backends that go away.
      await this.target.stop();
      await Promise.all(this.backendSlots.map(async (s) => s.child?.terminate('SIGTERM', STOP_GRACE_MS)));
      await this.bridge?.close();
      if (this.tmpDir) rmSync(this.tmpDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  private requireManagedBackends(what: string): void {
    if (this.backendsAttached) throw new UsageError(`${what} is not possible with --attach: the harness did not start the services`);
  }

  private requireManagedTarget(what: string): void {
    this.requireManagedBackends(what);
    if (!this.target.managed) throw new UsageError(`${what} is not possible with the attached target ${this.target.name}: the harness did not start it`);
  }

  private slot(name: string): BackendSlot {
    const slot = this.backendSlots.find((s) => s.name === name);
    if (!slot) throw new UsageError(`unknown backend "${name}"; configured: ${this.backendSlots.map((s) => s.name).join(', ')}`);
    if (!slot.managed) throw new UsageError(`backend "${name}" was not started by the harness (not a loopback URL or --attach)`);
    return slot;
  }

  api(): ManagedServices {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getters below need the instance; an object literal's getter cannot capture `this` lexically
    const self = this;
    return {
      attached: this.backendsAttached,
      get lbConfig() {
        return self.currentLb;
      },
      get lbUrl() {
        return self.target.url(self.currentLb);
      },
      get metricsUrl() {
        return self.metricsUrlNow;
      },
      get backends() {
        return new Map(self.backendUrls) as ReadonlyMap<string, string>;
      },
      get target() {
        return self.target;
      },
      switchTarget: (t: Target) => self.switchTarget(t),
      targetSummary(): TargetSummary {
        return { name: self.target.name, kind: self.target.kind, notes: self.target.notes(self.currentLb) };
      },
      missingMetrics() {
        return self.target.missingMetrics(self.currentLb);
      },
      list(): ServiceInfo[] {
        const out: ServiceInfo[] = [];
        const lbUrl = self.target.url(self.currentLb);
        const [primary, ...workers] = self.target.pids();
        if (primary !== undefined) out.push({ name: LB_SERVICE_NAME, role: 'lb', pid: primary, url: lbUrl });
        workers.sort((a, b) => a - b).forEach((pid, i) => out.push({ name: `${LB_SERVICE_NAME}-worker-${i + 1}`, role: 'lb', pid, url: lbUrl }));
        for (const s of self.backendSlots) {
          const pid = s.child?.alive ? s.child.pid : self.attachedBackendPids.get(s.name);
          if (pid !== undefined && (s.child || readProcStat(pid))) out.push({ name: s.name, role: 'backend', pid, url: self.backendUrls.get(s.name)! });
        }
        return out;
      },
      balancerPids(): number[] {
        return self.target.pids();
      },
      async killBackend(name: string): Promise<void> {
        self.requireManagedBackends('killBackend');
        const slot = self.slot(name);
        await slot.child?.terminate('SIGKILL', STOP_GRACE_MS);
      },
      async restartBackend(name: string): Promise<void> {
        self.requireManagedBackends('restartBackend');
        const slot = self.slot(name);
        if (slot.child?.alive) return;
        await self.startBackend(slot);
      },
      async restartBalancer(overrides: DeepPartial<LbConfig>): Promise<void> {
        self.requireManagedTarget('restartBalancer');
        await self.target.stop();
        await self.startTarget(overrides);
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
