/**
 * The shared base of targets that run someone else's program (nginx,
 * HAProxy, a user's command): the program runs in the foreground under the
 * foreground guard as the orchestrator's `lb` child, its configuration is
 * written to the target's private directory, and it is stopped with SIGTERM
 * (SIGKILL after STOP_GRACE_MS), its workers included.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { LbConfig } from '../../../common/config.js';
import { findOnPath } from '../../engines/external-binary.js';
import type { ManagedChild } from '../managed-child.js';
import { processTree } from '../../sampling/proc-stats.js';
import { lbBaseUrl } from './target-helpers.js';
import { STOP_GRACE_MS, type Availability, type RenderedConfig, type Target, type TargetHost, type TargetKind, type TargetMetrics } from './target.js';

/** Script that keeps a foreign program from outliving the harness. */
export const FOREGROUND_GUARD = new URL('./foreground-guard.js', import.meta.url).pathname;

/** The Debian packages of the built-in peers. */
export const INSTALL_HINT = 'install it: apt-get install -y nginx haproxy';

/** Runs `binary args` and returns its stdout and stderr joined (some print versions on stderr), or undefined. */
export function programOutput(binary: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: 5_000 }, (err, stdout, stderr) => {
      const text = `${stdout}${stderr}`.trim();
      resolve(err && !text ? undefined : text);
    });
  });
}

/** A program found on PATH (or at a path), or why not. */
export function locateProgram(binary: string): string | undefined {
  return findOnPath(binary);
}

export abstract class ForeignTarget implements Target {
  readonly managed = true;
  protected child: ManagedChild | undefined;

  constructor(
    readonly name: string,
    readonly kind: TargetKind,
    /** Program name or path, e.g. `nginx`. */
    protected readonly binary: string,
  ) {}

  abstract renderConfig(lb: LbConfig, dir: string): RenderedConfig | undefined;
  /** Arguments of the program for the config written at `file`. */
  protected abstract args(lb: LbConfig, file: string | undefined, dir: string): string[];
  /** Prepares `dir` before the start (temp directories). */
  protected prepare(_dir: string): void {}
  /** Resolves once the started program answers. */
  protected abstract waitReady(lb: LbConfig, child: ManagedChild, host: TargetHost): Promise<void>;
  abstract metrics(lb: LbConfig, host: TargetHost): TargetMetrics;
  abstract missingMetrics(lb: LbConfig): Readonly<Record<string, string>>;
  abstract notes(lb: LbConfig): string[];
  abstract available(): Promise<Availability>;

  async start(lb: LbConfig, host: TargetHost): Promise<void> {
    const program = locateProgram(this.binary) ?? this.binary;
    const rendered = this.renderConfig(lb, host.dir);
    if (rendered) writeFileSync(rendered.file, rendered.text);
    this.prepare(host.dir);
    this.child = host.spawn([program, ...this.args(lb, rendered?.file, host.dir)], { script: FOREGROUND_GUARD, cwd: host.dir });
    await this.waitReady(lb, this.child, host);
  }

  url(lb: LbConfig): string {
    return lbBaseUrl(lb);
  }

  /** The program's processes (master and workers), without the guard. */
  pids(): number[] {
    return this.child?.alive ? processTree(this.child.pid).slice(1) : [];
  }

  async stop(): Promise<void> {
    await this.child?.terminate('SIGTERM', STOP_GRACE_MS);
  }
}
