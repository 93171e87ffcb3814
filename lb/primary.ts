/**
 * The cluster primary: decides how workers accept (lb/accept-mode.ts: each
 * worker on its own SO_REUSEPORT socket, or all on the cluster's shared
 * handle; the primary is out of the accept path either way), owns the
 * single HealthRegistry and the metrics endpoint. Forks one
 * proxy worker per `workers`, re-forks a worker that dies (with backoff
 * against crash loops), broadcasts health changes and reloads, and sums
 * the workers' counters on each scrape.
 */
import cluster, { type Worker } from 'node:cluster';
import type http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfig, resolveWorkerCount, type LbConfig } from '../common/config.js';
import { InputError, InvalidRunError } from '../common/errors.js';
import { formatIssue } from '../common/errors.js';
import { resolveAcceptMode, type AcceptMode } from './accept-mode.js';
import { HealthHub, mergeReloadedConfig } from './health-hub.js';
import { isLbMessage, type PrimaryMessage, type WorkerMessage } from './ipc.js';
import { logLine } from './log.js';
import { LbMetrics, startMetricsServer, type LabelledSnapshot } from './metrics/lb-metrics.js';
import type { WorkerSnapshot } from './metrics/worker-counters.js';
import { ErrorCode } from '../common/error-codes.js';
import { itemAt } from '../common/checked.js';

/** How long a scrape waits for workers' fresh snapshots before using the last ones, ms. */
export const SNAPSHOT_TIMEOUT_MS = 250;
/** How long workers get to start listening, ms. */
export const START_TIMEOUT_MS = 15_000;
/** Restart backoff: first delay, cap, and the uptime after which a worker counts as healthy, ms. */
export const RESTART_BACKOFF_MS = { initial: 100, max: 5_000, stableAfter: 10_000 } as const;

/** A running clustered balancer. */
export interface ClusterHandle {
  /** Actual client port (differs from config when it was 0). */
  readonly port: number;
  /** Actual metrics port. */
  readonly metricsPort: number;
  /** Number of workers. */
  readonly workerCount: number;
  /** How the workers accept connections (lb/accept-mode.ts). */
  readonly acceptMode: AcceptMode;
  /** Re-reads the config file and applies it; false (old config kept) when invalid. */
  reload(): boolean;
  /** Drains every worker (up to timeouts.drainMs), then stops health and metrics. */
  stop(): Promise<void>;
}

/** Options of startCluster. */
export interface ClusterOptions {
  /** Config file re-read on reload(). */
  configPath: string;
  /** Worker count; default from `lb.workers` (`auto` = os.availableParallelism()). */
  workers?: number;
}

interface WorkerEntry {
  worker: Worker;
  startedAt: number;
  last: WorkerSnapshot | null;
  /** Port this worker was told to listen on (0 or the actual one). */
  listenPort: number;
  listening: boolean;
  /** reuseport on port 0: waits for the first worker's actual port before it gets its config. */
  waitingForPort: boolean;
  /** Got its first config (and so was told to listen). */
  configured: boolean;
}

class ClusterPrimary implements ClusterHandle {
  port = 0;
  metricsPort = 0;
  readonly workerCount: number;
  readonly acceptMode: AcceptMode;
  private lb: LbConfig;
  private generation = 1;
  private hub!: HealthHub;
  private readonly metrics: LbMetrics;
  private metricsServer: http.Server | null = null;
  private readonly entries = new Map<number, WorkerEntry>();
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private snapshotSeq = 0;
  private readonly snapshotWaiters = new Set<() => void>();
  private failures = 0;
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private startup: { resolve: () => void; reject: (e: Error) => void; listening: number } | null = null;

  constructor(
    lb: LbConfig,
    private readonly configPath: string,
    workers: number | undefined,
  ) {
    this.lb = lb;
    this.workerCount = workers ?? resolveWorkerCount(lb.workers, os.availableParallelism());
    const accept = resolveAcceptMode(lb.accept, process.versions.node);
    this.acceptMode = accept.mode;
    if (accept.note) logLine(accept.note);
    this.metrics = new LbMetrics({
      backendNames: () => this.lb.backends.map((b) => b.name),
      health: () => this.hub.states(),
      collect: () => this.collect(),
    });
  }

  async start(): Promise<void> {
    const { server, port } = await startMetricsServer(this.metrics, this.lb.metrics.host, this.lb.metrics.port).catch((err: Error) => {
      throw new InvalidRunError(ErrorCode.LISTEN, `metrics port ${this.lb.metrics.host}:${this.lb.metrics.port}: ${err.message}`, { cause: err });
    });
    this.metricsServer = server;
    this.metricsPort = port;
    if (this.acceptMode === 'reuseport' && this.lb.listen.port !== 0) await this.checkPortFree();
    this.hub = this.newHub(this.lb, this.generation);
    this.hub.start();
    // node:cluster freezes the policy at the first setupPrimary of the process.
    cluster.schedulingPolicy = this.acceptMode === 'round_robin' ? cluster.SCHED_RR : cluster.SCHED_NONE;
    cluster.setupPrimary({
      exec: fileURLToPath(new URL('./worker.js', import.meta.url)),
      execArgv: workerExecArgv(process.execArgv),
      args: [],
      silent: false,
    });
    const started = new Promise<void>((resolve, reject) => {
      this.startup = { resolve, reject, listening: 0 };
    });
    for (let i = 0; i < this.workerCount; i++) this.fork();
    const timer = setTimeout(
      () => this.failStart(new InvalidRunError(ErrorCode.START_TIMEOUT, `workers did not listen within ${START_TIMEOUT_MS}ms`)),
      START_TIMEOUT_MS,
    );
    try {
      await started;
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * SO_REUSEPORT would silently share the port with any other process of
   * this user that also set it (a stale balancer, say): bind it once without
   * the option first, which fails when anybody holds it.
   */
  private async checkPortFree(): Promise<void> {
    const { host, port } = this.lb.listen;
    const probe = net.createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', (err) => reject(new InvalidRunError(ErrorCode.LISTEN, `listen ${host}:${port}: ${err.message}`, { cause: err })));
      probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
    });
  }

  private failStart(err: Error): void {
    const s = this.startup;
    this.startup = null;
    s?.reject(err);
  }

  private newHub(lb: LbConfig, generation: number): HealthHub {
    return new HealthHub(lb, generation, this.metrics, (gen, index, up) => this.broadcast({ t: 'lb:health', generation: gen, index, up }));
  }

  private fork(): void {
    const worker = cluster.fork();
    const entry: WorkerEntry = { worker, startedAt: Date.now(), last: null, listenPort: 0, listening: false, waitingForPort: false, configured: false };
    this.entries.set(worker.id, entry);
    this.metrics.workers = this.entries.size;
    worker.on('message', (msg: unknown) => this.onMessage(entry, msg));
    worker.on('error', () => {});
    worker.on('exit', (code, signal) => this.onExit(entry, code, signal));
  }

  private send(entry: WorkerEntry, msg: PrimaryMessage): void {
    const w = entry.worker;
    if (!w.isConnected()) return;
    try {
      w.send(msg);
    } catch {
      // Exiting worker; its 'exit' handler cleans up.
    }
  }

  private broadcast(msg: PrimaryMessage): void {
    for (const entry of this.entries.values()) this.send(entry, msg);
  }

  private onMessage(entry: WorkerEntry, raw: unknown): void {
    if (!isLbMessage(raw)) return;
    const msg = raw as WorkerMessage;
    switch (msg.t) {
      case 'lb:ready':
        if (this.acceptMode === 'reuseport' && this.port === 0 && this.lb.listen.port === 0 && this.someoneBinding()) {
          entry.waitingForPort = true;
          return;
        }
        this.configureNewWorker(entry);
        return;
      case 'lb:listening':
        entry.listening = true;
        // Startup says so once for all workers (standalone.ts); a worker
        // forked later (a restart) says so itself, so its end is in the log.
        if (this.startup === null) logLine(`worker ${entry.worker.id} (pid ${entry.worker.process.pid}) listening`);
        if (this.port === 0) {
          this.port = msg.port;
          for (const e of this.entries.values()) {
            if (!e.waitingForPort) continue;
            e.waitingForPort = false;
            this.configureNewWorker(e);
          }
        }
        if (this.startup && ++this.startup.listening === this.workerCount) {
          const s = this.startup;
          this.startup = null;
          s.resolve();
        }
        return;
      case 'lb:listen-error':
        this.failStart(new InvalidRunError(ErrorCode.LISTEN, `listen ${this.lb.listen.host}:${this.lb.listen.port}: ${msg.message}`));
        return;
      case 'lb:snapshot':
        entry.last = msg.snapshot;
        for (const wake of this.snapshotWaiters) wake();
        return;
      case 'lb:passive':
        // Still up in the registry (e.g. passive checks disabled): re-sync the worker's copy.
        if (this.hub.reportPassiveFailure(msg.generation, msg.index, msg.reason) && msg.generation === this.generation) {
          this.send(entry, { t: 'lb:health', generation: msg.generation, index: msg.index, up: true });
        }
        return;
    }
  }

  private onExit(entry: WorkerEntry, code: number | null, signal: string | null): void {
    this.entries.delete(entry.worker.id);
    this.metrics.workers = this.entries.size;
    if (entry.last) this.metrics.retire(entry.last);
    for (const wake of this.snapshotWaiters) wake();
    if (this.stopping) return;
    if (this.startup) {
      this.failStart(new InvalidRunError(ErrorCode.WORKER_EXIT, `worker ${entry.worker.id} exited during start (${signal ?? `code ${code}`})`));
      return;
    }
    const livedMs = Date.now() - entry.startedAt;
    this.failures = livedMs >= RESTART_BACKOFF_MS.stableAfter ? 1 : this.failures + 1;
    const delayMs = Math.min(RESTART_BACKOFF_MS.max, RESTART_BACKOFF_MS.initial * 2 ** (this.failures - 1));
    this.metrics.workerRestarts++;
    logLine(`worker ${entry.worker.id} (pid ${entry.worker.process.pid}) exited (${signal ?? `code ${code}`}); restarting in ${delayMs}ms`);
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (!this.stopping) this.fork();
    }, delayMs);
    this.restartTimers.add(timer);
  }

  /** Whether a worker was already told to bind (port 0 not yet known). */
  private someoneBinding(): boolean {
    for (const e of this.entries.values()) if (!e.waitingForPort && e.worker.isConnected() && e.listenPort === 0 && e.configured) return true;
    return false;
  }

  /** Sends a new worker its first config, which makes it listen. */
  private configureNewWorker(entry: WorkerEntry): void {
    entry.configured = true;
    entry.listenPort = this.acceptMode === 'reuseport' ? this.port || this.lb.listen.port : this.listenPortForNewWorker();
    this.send(entry, {
      t: 'lb:config',
      generation: this.generation,
      lb: this.lb,
      states: this.hub.states(),
      listenPort: entry.listenPort,
      reusePort: this.acceptMode === 'reuseport',
    });
  }

  /**
   * Cluster shares one listen handle per (address, port) as the workers
   * asked for it: a new worker must ask for the same port as the live ones
   * (0 stays 0), and only when none is alive, for the actual port, so a
   * re-forked sole worker keeps the port the clients know.
   */
  private listenPortForNewWorker(): number {
    for (const e of this.entries.values()) if (e.listening) return e.listenPort;
    return this.port || this.lb.listen.port;
  }

  /** Asks every worker for a snapshot; waits up to SNAPSHOT_TIMEOUT_MS, then uses the last ones. */
  private async collect(): Promise<LabelledSnapshot[]> {
    const id = ++this.snapshotSeq;
    const asked = [...this.entries.values()];
    const before = new Map(asked.map((e) => [e, e.last]));
    for (const e of asked) this.send(e, { t: 'lb:snapshot', id });
    await new Promise<void>((resolve) => {
      const check = () => {
        if (asked.every((e) => e.last !== before.get(e) || !this.entries.has(e.worker.id))) finish();
      };
      const finish = () => {
        clearTimeout(timer);
        this.snapshotWaiters.delete(check);
        resolve();
      };
      const timer = setTimeout(finish, SNAPSHOT_TIMEOUT_MS);
      this.snapshotWaiters.add(check);
      check();
    });
    const out: LabelledSnapshot[] = [];
    for (const e of this.entries.values()) if (e.last) out.push({ worker: String(e.worker.id), snapshot: e.last });
    return out;
  }

  reload(): boolean {
    let next: LbConfig;
    try {
      next = loadConfig(this.configPath).lb;
    } catch (err) {
      if (err instanceof InputError) {
        logLine(`reload refused, keeping the running config (${err.issues.length} problem(s)):`);
        for (const issue of err.issues) logLine(`  ${formatIssue(issue)}`);
      } else logLine(`reload refused, keeping the running config: ${(err as Error).message}`);
      return false;
    }
    const lb = mergeReloadedConfig(this.lb, next);
    this.hub.stop();
    this.lb = lb;
    this.generation++;
    this.hub = this.newHub(lb, this.generation);
    for (const e of this.entries.values()) {
      if (!e.configured) continue;
      this.send(e, {
        t: 'lb:config',
        generation: this.generation,
        lb,
        states: this.hub.states(),
        listenPort: e.listenPort,
        reusePort: this.acceptMode === 'reuseport',
      });
    }
    this.hub.start();
    logLine(`reloaded ${this.configPath}: ${lb.backends.length} backend(s), ${lb.algorithm}`);
    return true;
  }

  stop(): Promise<void> {
    this.stopped ??= this.doStop();
    return this.stopped;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
    const drainMs = this.lb.timeouts.drainMs;
    const exits = [...this.entries.values()].map(
      (e) =>
        new Promise<void>((resolve) => {
          if (e.worker.isDead()) return resolve();
          e.worker.once('exit', () => resolve());
          this.send(e, { t: 'lb:drain', drainMs });
        }),
    );
    const killTimer = setTimeout(() => {
      for (const e of this.entries.values()) e.worker.process.kill('SIGKILL');
    }, drainMs + 3_000);
    await Promise.all(exits);
    clearTimeout(killTimer);
    this.hub?.stop();
    const server = this.metricsServer;
    this.metricsServer = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}

/** The primary's node flags minus those that name code to run (`-e`,
 * `--input-type`, ...), which would replace the worker entry. */
function workerExecArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = itemAt(argv, i, 'a node flag');
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') {
      i++;
      continue;
    }
    if (a.startsWith('--eval=') || a.startsWith('--print=') || a.startsWith('--input-type') || a === '--test' || a.startsWith('--test-')) continue;
    out.push(a);
  }
  return out;
}

/**
 * Starts the clustered balancer for `lb`: metrics server, health checks and
 * workers. Resolves once every worker listens. Throws InvalidRunError (exit
 * 3) when a port cannot be bound or a worker fails to start.
 */
export async function startCluster(lb: LbConfig, options: ClusterOptions): Promise<ClusterHandle> {
  if (!cluster.isPrimary) throw new InvalidRunError(ErrorCode.NOT_PRIMARY, 'startCluster must run in the cluster primary');
  const primary = new ClusterPrimary(lb, options.configPath, options.workers);
  await primary.start();
  return primary;
}
