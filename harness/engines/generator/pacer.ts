/**
 * The pacer decides when a generator sends and which requests count; the
 * slot pool holds the connections and the recorder adds up what counted.
 * One pacer per load model: `open-pacer.ts` follows the constant-rate
 * schedule shared by every process (the open-loop engine), `closed-pacer.ts`
 * sends on every idle connection (the closed-loop engine). The generator
 * process picks one by `GeneratorSpec.mode` from `PACERS`.
 */
import type { GeneratorSpec, ScheduleReport } from './protocol.js';

/** The times of one run, monotonic ms (clock.ts). */
export interface RunWindow {
  /** First send (warm-up starts). */
  startMs: number;
  /** Measured window starts (warm-up ends). */
  windowStartMs: number;
  /** Measured window ends; the drain follows. */
  windowEndMs: number;
}

/** What a pacer sends on: the generator's slot pool plus its recorder. */
export interface SendTarget {
  /** An idle open connection's slot, or -1 when none is. */
  takeFree(): number;
  /** Sends on slot `i` at `now`; latency counts from `intendedMs`, and only if `recorded`. */
  send(i: number, intendedMs: number, now: number, recorded: boolean): void;
}

export interface Pacer {
  /** Starts pacing `window`; `wake` runs the generator's dispatch (which
   * calls `dispatch`) and may be called from a timer or ticker. */
  start(window: RunWindow, wake: () => void): void;
  /** Sends what is due at `now` on free slots of `target`. */
  dispatch(now: number, target: SendTarget): void;
  /** Whether a slot that just became idle should be used at once. */
  wantsIdleSlot(): boolean;
  /** After the window: whether every send is settled at `now` (sent, or
   * past `drainDeadlineMs` and to be dropped by `close`). */
  drained(now: number, drainDeadlineMs: number): boolean;
  /** The run is over: whatever is still waiting will never be sent. */
  close(): void;
  /** Stops timers and threads; idempotent. */
  stop(): void;
  /** What the pacer measured about its own schedule; undefined without one. */
  scheduleReport(): ScheduleReport | undefined;
}

/** Makes a pacer for one generator process's share of the run. */
export type PacerFactory = (spec: GeneratorSpec) => Pacer;
