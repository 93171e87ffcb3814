/**
 * One child process the harness started (execa), with its exit watched, its
 * output split into lines, its last stderr lines kept for error messages,
 * and a last-resort process-exit hook that SIGKILLs whatever is still alive.
 *
 * Every child is a Node process with the parent watchdog preloaded, so it
 * stops itself when the harness is gone (SIGKILL, OOM kill). Foreign
 * programs (nginx, haproxy, a user's balancer) run under the foreground
 * guard (harness/services/targets/foreground-guard.ts), which gives them the same
 * guarantee.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { BIN_PATH } from '../../common/paths.js';
import { LineRing, forEachLine } from './log-prefix.js';
import { processTree, readProcStat } from '../sampling/proc-stats.js';

/** Stderr lines of a child kept for error messages. */
const STDERR_TAIL_LINES = 20;
/** Period of the checks while waiting for stragglers to go, ms. */
const POLL_INTERVAL_MS = 50;

/** Preloaded into every child: it stops itself when the harness is gone. */
const WATCHDOG_URL = new URL('./parent-watchdog.js', import.meta.url).href;

/** How a child ended. */
export type ExitInfo = { exitCode: number | null; signal: string | null };

/** Role of a child in tables and exit reports. */
export type ChildRole = 'lb' | 'backend';

/** Options of a ManagedChild. */
export interface ManagedChildOptions {
  /** Script node runs (after the watchdog); default the lbbench CLI shim. */
  script?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory. Default the harness's. */
  cwd?: string;
}

/** One child process we started: `node --import watchdog SCRIPT ...args`. */
export class ManagedChild {
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
    readonly role: ChildRole,
    args: string[],
    onLine: (line: string, stream: 'stdout' | 'stderr') => void,
    options: ManagedChildOptions = {},
  ) {
    this.proc = execa(process.execPath, ['--import', WATCHDOG_URL, options.script ?? BIN_PATH, ...args], {
      reject: false,
      buffer: false,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      ...(options.env ? { env: options.env } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
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
  while ((left = alive()).length > 0 && Date.now() < deadline) await sleep(POLL_INTERVAL_MS);
  for (const pid of left) trySignal(pid, 'SIGKILL');
  while (alive().length > 0 && Date.now() < deadline + 2_000) await sleep(POLL_INTERVAL_MS);
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}
