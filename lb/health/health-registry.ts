import type { LbConfig } from '../../common/config.js';
import { ActiveChecker } from './active-checker.js';
import { HealthState } from './health-state.js';

/** One up/down transition of one backend. */
export interface HealthChange {
  /** Backend index (position in the config). */
  index: number;
  /** Backend name, as in metrics labels. */
  name: string;
  /** The new state. */
  up: boolean;
  /** Short cause: the deciding check's detail (`status 200`,
   * `connect ECONNREFUSED`, `timeout after 500ms`), the reason a worker gave
   * for a passive failure, or `passive recovery after 10000ms`. */
  reason: string;
  /** What decided it: an active check, or a failure a worker saw. */
  source: 'active' | 'passive';
}

/** Extra knobs, not in config.yaml. */
export interface HealthRegistryOptions {
  /** Only when active checks are disabled: a passively downed backend is
   * marked up again after this long, ms, as nginx's `fail_timeout` does
   * (otherwise nothing would ever bring it back). Default 10000. */
  passiveRecoveryMs?: number;
}

/** Default of HealthRegistryOptions.passiveRecoveryMs, ms. */
export const DEFAULT_PASSIVE_RECOVERY_MS = 10_000;

/**
 * The one source of truth about backend health, kept by the balancer's
 * primary process. Active checks (if enabled) feed a rise/fall state machine
 * per backend; passive failures reported by workers take a backend down at
 * once (if passive checks are enabled) and active checks bring it back after
 * `rise` successes. Every backend starts up. Callbacks run synchronously the
 * moment a state changes; none runs after stop().
 */
export class HealthRegistry {
  private readonly names: readonly string[];
  private readonly health: HealthState[];
  private readonly settings: LbConfig['health'];
  private readonly onChange: (change: HealthChange) => void;
  private readonly onCheck: ((index: number, ok: boolean) => void) | undefined;
  private readonly checker: ActiveChecker | undefined;
  private readonly passiveRecoveryMs: number;
  private readonly recoveryTimers: (NodeJS.Timeout | undefined)[];
  private stopped = false;

  /**
   * @param backends in config order; index i is backend index i.
   * @param settings `lb.health` from the validated config.
   * @param onChange every up/down transition, synchronously.
   * @param onCheck every active check result (for `lb_health_checks_total`),
   *   called before the onChange it may cause.
   */
  constructor(
    backends: readonly { name: string; url: string }[],
    settings: LbConfig['health'],
    onChange: (change: HealthChange) => void,
    onCheck?: (index: number, ok: boolean) => void,
    options: HealthRegistryOptions = {},
  ) {
    this.names = backends.map((b) => b.name);
    this.settings = settings;
    this.onChange = onChange;
    this.onCheck = onCheck;
    this.passiveRecoveryMs = options.passiveRecoveryMs ?? DEFAULT_PASSIVE_RECOVERY_MS;
    this.health = backends.map(() => new HealthState(settings.active.rise, settings.active.fall));
    this.recoveryTimers = backends.map(() => undefined);
    this.checker = settings.active.enabled
      ? new ActiveChecker(backends, settings.active, (index, ok, detail) => this.handleCheck(index, ok, detail))
      : undefined;
  }

  /** Begins active checks (if enabled). No-op after stop(). */
  start(): void {
    if (!this.stopped) this.checker?.start();
  }

  /** Clears every timer and check socket; no callback runs after this. Final. */
  stop(): void {
    this.stopped = true;
    this.checker?.stop();
    for (let i = 0; i < this.recoveryTimers.length; i++) {
      clearTimeout(this.recoveryTimers[i]);
      this.recoveryTimers[i] = undefined;
    }
  }

  /** Whether backend `index` is up; false for an unknown index. */
  isUp(index: number): boolean {
    return this.health[index]?.up ?? false;
  }

  /** Up (true) or down per backend index; a fresh array. */
  states(): boolean[] {
    return this.health.map((s) => s.up);
  }

  /**
   * A worker saw a refused or reset connection to backend `index`. With
   * passive checks enabled the backend goes down at once; otherwise, and for
   * an unknown index or after stop(), nothing happens.
   */
  reportPassiveFailure(index: number, reason: string): void {
    const state = this.health[index];
    if (this.stopped || !this.settings.passive.enabled || state === undefined) return;
    if (!state.markDown()) return;
    this.emit(index, false, reason, 'passive');
    if (this.checker === undefined) this.scheduleRecovery(index);
  }

  private handleCheck(index: number, ok: boolean, detail: string): void {
    if (this.stopped) return;
    this.onCheck?.(index, ok);
    // Indexes come from our own checker; an unknown one is ignored, as in reportPassiveFailure.
    const state = this.health[index];
    if (state === undefined) return;
    const changed = ok ? state.recordSuccess() : state.recordFailure();
    if (changed) this.emit(index, state.up, detail, 'active');
  }

  private scheduleRecovery(index: number): void {
    clearTimeout(this.recoveryTimers[index]);
    this.recoveryTimers[index] = setTimeout(() => {
      this.recoveryTimers[index] = undefined;
      // Without active checks there is no evidence to wait for: trust it again.
      if (this.stopped || !this.health[index]?.markUp()) return;
      this.emit(index, true, `passive recovery after ${this.passiveRecoveryMs}ms`, 'passive');
    }, this.passiveRecoveryMs);
  }

  private emit(index: number, up: boolean, reason: string, source: HealthChange['source']): void {
    this.onChange({ index, name: this.names[index] ?? `backend ${index}`, up, reason, source });
  }
}
