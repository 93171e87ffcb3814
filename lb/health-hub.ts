/**
 * Wraps the HealthRegistry of one config generation for the process that
 * owns health: logs every state change with its reason, counts active
 * checks into the metrics, and hands each change to `onState` (which
 * broadcasts it to the proxies). Passive reports of an older generation are
 * ignored, since backend indexes may have changed with the config.
 */
import type { LbConfig } from '../common/config.js';
import { HealthRegistry, type HealthChange } from './health/health-registry.js';
import { logLine } from './log.js';
import type { LbMetrics } from './metrics/lb-metrics.js';

/** Called on every up/down change of backend `index` of `generation`. */
export type HealthStateListener = (generation: number, index: number, up: boolean) => void;

export class HealthHub {
  private readonly registry: HealthRegistry;

  constructor(
    lb: LbConfig,
    readonly generation: number,
    metrics: LbMetrics,
    onState: HealthStateListener,
  ) {
    const names = lb.backends.map((b) => b.name);
    this.registry = new HealthRegistry(
      lb.backends,
      lb.health,
      (change: HealthChange) => {
        logLine(`${change.name} ${change.up ? 'UP' : 'DOWN'} (${change.source}: ${change.reason})`);
        onState(generation, change.index, change.up);
      },
      (index, ok) => metrics.countCheck(names[index] ?? `backend ${index}`, ok),
    );
  }

  start(): void {
    this.registry.start();
  }

  stop(): void {
    this.registry.stop();
  }

  /** Health per backend index. */
  states(): boolean[] {
    return this.registry.states();
  }

  /**
   * A proxy saw a refused/reset connection. Returns the backend's state
   * after the report (true: still up, e.g. passive checks are disabled), so
   * the caller can re-sync a proxy that marked it down locally.
   */
  reportPassiveFailure(generation: number, index: number, reason: string): boolean {
    if (generation !== this.generation) return true;
    this.registry.reportPassiveFailure(index, reason);
    return this.registry.isUp(index);
  }
}

/**
 * Keeps the parts of a reloaded config that cannot change at run time
 * (listen, metrics, workers) from `current`, logging each one that differs.
 */
export function mergeReloadedConfig(current: LbConfig, next: LbConfig): LbConfig {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(current.listen, next.listen)) logLine(`reload: listen cannot change while running; keeping ${current.listen.host}:${current.listen.port}`);
  if (!same(current.metrics, next.metrics)) logLine(`reload: metrics cannot change while running; keeping ${current.metrics.host}:${current.metrics.port}`);
  if (!same(current.workers, next.workers)) logLine(`reload: workers cannot change while running; keeping ${current.workers}`);
  if (current.accept !== next.accept) logLine(`reload: accept cannot change while running; keeping ${current.accept}`);
  return { ...next, listen: current.listen, metrics: current.metrics, workers: current.workers, accept: current.accept };
}
