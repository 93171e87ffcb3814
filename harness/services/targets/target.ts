/**
 * A target is whatever sits on the balancer's address: our own balancer,
 * nginx, HAProxy, a user's command, or something already running. The
 * orchestrator (harness/services/services.ts) owns the backends and hands each
 * target the effective `lb` section (ports resolved, backends' actual URLs,
 * a scenario's overrides merged); the target renders its configuration
 * from it, starts, answers when ready, exposes metrics under lbbench's
 * names (README, "Metrics") and stops without leaving a process behind.
 */
import type { HarnessConfig, LbConfig } from '../../../common/config.js';
import type { ManagedChild, ManagedChildOptions } from '../managed-child.js';
import type { TargetKind } from '../../result/scenario-api.js';
import type { MetricsAdapter } from './metrics-bridge.js';

export type { TargetKind, TargetSummary } from '../../result/scenario-api.js';

/** Whether a target can run on this machine. */
export type Availability = { ok: true; version?: string } | { ok: false; reason: string; hint: string };

/** What the orchestrator lends a target while it runs. */
export interface TargetHost {
  /** Starts a watched child named `lb` (its unexpected exit is reported,
   * its output prefixed); `args` follow `node --import watchdog SCRIPT`. */
  spawn(args: string[], options?: ManagedChildOptions): ManagedChild;
  /** A private temporary directory, removed when the services stop. */
  readonly dir: string;
  readonly harness: HarnessConfig;
  /** Backend base URLs by name, e.g. `backend-8001` -> `http://127.0.0.1:8001`. */
  backends(): ReadonlyMap<string, string>;
  /** Aborted on Ctrl-C during a start. */
  readonly signal: AbortSignal | undefined;
}

/** Configuration files a target writes for one `lb` section. */
export interface RenderedConfig {
  /** Absolute path of the main file. */
  file: string;
  text: string;
}

/** See Target.metrics. */
export type TargetMetrics = { url: string } | { adapter: MetricsAdapter };

/** One balancer under test. */
export interface Target {
  readonly name: string;
  readonly kind: TargetKind;
  /** False when something else runs it (attach): it cannot be restarted with overrides. */
  readonly managed: boolean;
  /** Whether its program is installed; never throws. */
  available(): Promise<Availability>;
  /** Its configuration for `lb` (pure; written by start). Undefined for targets that take none. */
  renderConfig(lb: LbConfig, dir: string): RenderedConfig | undefined;
  /** Starts it for `lb` and resolves once it answers on the listen address
   * (a proxied GET of the health path below 500) and on its metrics. Throws
   * InvalidRunError (exit 3) when it exits or does not answer in time. */
  start(lb: LbConfig, host: TargetHost): Promise<void>;
  /** Base URL clients use, e.g. `http://127.0.0.1:8080`. */
  url(lb: LbConfig): string;
  /** Where lbbench-named metrics come from once it runs: a /metrics URL
   * that speaks our names, or an adapter from what it exposes (served by
   * the orchestrator's metrics bridge). */
  metrics(lb: LbConfig, host: TargetHost): TargetMetrics;
  /** Its processes, primary first (empty when not running or unknown). */
  pids(): number[];
  /** lbbench metric names it cannot provide, with the reason. */
  missingMetrics(lb: LbConfig): Readonly<Record<string, string>>;
  /** Notes for the report about how `lb` maps onto it. */
  notes(lb: LbConfig): string[];
  /** Stops it and everything it started; resolves when gone. Idempotent. */
  stop(): Promise<void>;
}

/** Name of the balancer in logs, tables and samples, whatever the target.
 * Its workers are `lb-worker-1`, `lb-worker-2`, ... (by ascending PID). */
export const LB_SERVICE_NAME = 'lb';

/** After SIGTERM, a child gets this long to exit before SIGKILL, ms. */
export const STOP_GRACE_MS = 5_000;
