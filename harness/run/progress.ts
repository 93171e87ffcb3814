/**
 * Live progress of `lbbench run`: which scenario of how many, the phase
 * (warm-up, load, baseline), elapsed and remaining time of the current load,
 * and the last second's requests/s, errors and p99 from the engines' series
 * buckets (`LoadSpec.onBucket`; engines without buckets, like wrk, show the
 * moving phase and times only).
 *
 * Two modes:
 * - `tty`: one status line, redrawn every `redrawMs` (default 250 ms), erased
 *   before any other output is written and drawn again after it;
 * - `plain` (stdout is not a terminal, e.g. CI): a plain line every
 *   `plainIntervalMs` (default 10 s) while something runs.
 * `lbbench run --quiet` creates none. The clock and timers are injectable,
 * so tests are exact.
 */
import type { LoadSpec, SeriesBucket } from '../engines/engine.js';
import { itemAt } from '../../common/checked.js';

/** What the run loop tells the progress display. */
export interface RunProgress {
  scenarioStarted(index: number, total: number, name: string): void;
  /** A load run starts: its label and spec (durations, warm-up, bucket width). */
  loadStarted(label: string, spec: LoadSpec): void;
  /** A completed series bucket of the running load. */
  bucket(bucket: SeriesBucket): void;
  loadFinished(): void;
  scenarioFinished(): void;
  /** Erases the status line and stops the timer. Idempotent. */
  stop(): void;
}

/** Options of createProgress. */
export interface ProgressOptions {
  mode: 'tty' | 'plain';
  /** Where the status goes (the terminal for `tty`). */
  write: (text: string) => void;
  /** Default `Date.now`. */
  now?: () => number;
  /** TTY redraw period, ms. Default 250. */
  redrawMs?: number;
  /** Plain-line period, ms. Default 10000. */
  plainIntervalMs?: number;
  /** Terminal width for `tty`; the line is cut to it. Default 80. */
  columns?: number;
  setInterval?: (fn: () => void, ms: number) => { unref?(): void };
  clearInterval?: (timer: unknown) => void;
}

/** Live figures over the last second of buckets. */
interface Window {
  buckets: (SeriesBucket & { intervalMs: number })[];
}

/** What the status line shows; pure input of formatProgress. */
export interface ProgressState {
  index: number;
  total: number;
  scenario: string;
  scenarioStartMs: number;
  load?: { label: string; phase: 'warm-up' | 'load' | 'baseline'; startMs: number; warmupMs: number; durationMs: number };
  /** Over the last second of buckets; undefined before the first bucket. */
  live?: { requestsPerSecond: number; errors: number; p99Us: number };
}

/** The phase a load's label stands for: `direct …` loads are the baseline. */
export function loadPhase(label: string): 'warm-up' | 'load' | 'baseline' {
  if (/warm-?up/i.test(label)) return 'warm-up';
  return /^direct\b/.test(label) ? 'baseline' : 'load';
}

function seconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * One line: `[2/9] lat_conn 41s | load 4s, 6s left | 1002 req/s, 0 err,
 * p99 7.5 ms | lb c500 open-loop`. Remaining time is the current load's
 * (warm-up plus measured window), the only one known ahead. The load's
 * label comes last: a narrow terminal cuts it first.
 */
export function formatProgress(st: ProgressState, nowMs: number): string {
  const parts = [`[${st.index}/${st.total}] ${st.scenario} ${seconds(nowMs - st.scenarioStartMs)}`];
  if (st.load) {
    const elapsed = nowMs - st.load.startMs;
    const inWarmup = st.load.warmupMs > 0 && elapsed < st.load.warmupMs && st.live === undefined;
    const phase = inWarmup ? 'warm-up' : st.load.phase;
    const left = st.load.warmupMs + st.load.durationMs - elapsed;
    parts.push(`${phase} ${seconds(elapsed)}, ${left > 0 ? `${seconds(left)} left` : 'finishing'}`);
    if (st.live) {
      const p99 = st.live.p99Us >= 1000 ? `${Number((st.live.p99Us / 1000).toPrecision(3))} ms` : `${Math.round(st.live.p99Us)} µs`;
      parts.push(`${Math.round(st.live.requestsPerSecond)} req/s, ${st.live.errors} err, p99 ${p99}`);
    }
    parts.push(st.load.label);
  } else parts.push('between loads');
  return parts.join(' | ');
}

/** Last-second figures: requests and errors summed over the newest buckets
 * covering 1 s, p99 the highest bucket p99 among them (buckets keep no
 * histogram to merge, so this is an upper bound). */
function liveOf(w: Window): ProgressState['live'] {
  if (w.buckets.length === 0) return undefined;
  let spanMs = 0;
  let requests = 0;
  let errors = 0;
  let p99Us = 0;
  for (let i = w.buckets.length - 1; i >= 0 && spanMs < 1000; i--) {
    const b = itemAt(w.buckets, i, 'w.buckets[i]');
    spanMs += b.intervalMs;
    requests += b.requests;
    errors += b.errors;
    p99Us = Math.max(p99Us, b.p99Us);
  }
  return { requestsPerSecond: (requests * 1000) / spanMs, errors, p99Us };
}

const ERASE_LINE = '\r\u001b[2K';

/** A progress display and a wrapper for the run's other output, which erases
 * and redraws the status line around each write (tty mode). */
export function createProgress(opts: ProgressOptions): RunProgress & { wrap<T extends unknown[]>(fn: (...a: T) => void): (...a: T) => void } {
  const now = opts.now ?? Date.now;
  const setTimer = opts.setInterval ?? ((fn: () => void, ms: number) => setInterval(fn, ms));
  const clearTimer = opts.clearInterval ?? ((t: unknown) => clearInterval(t as NodeJS.Timeout));
  const columns = Math.max(40, opts.columns ?? 80);
  let state: ProgressState | undefined;
  let window: Window = { buckets: [] };
  let intervalMs = 1000;
  let shown = false;
  let timer: unknown;

  const line = (): string => {
    const text = formatProgress({ ...state!, ...(state!.load ? { live: liveOf(window) } : {}) }, now());
    return [...text].length > columns - 1 ? [...text].slice(0, columns - 2).join('') + '…' : text;
  };
  const draw = (): void => {
    if (!state) return;
    if (opts.mode === 'tty') {
      opts.write(`${ERASE_LINE}${line()}`);
      shown = true;
    } else opts.write(`progress: ${formatProgress({ ...state, ...(state.load ? { live: liveOf(window) } : {}) }, now())}\n`);
  };
  const erase = (): void => {
    if (shown) opts.write(ERASE_LINE);
    shown = false;
  };
  const start = (): void => {
    if (timer !== undefined) return;
    const t = setTimer(draw, opts.mode === 'tty' ? (opts.redrawMs ?? 250) : (opts.plainIntervalMs ?? 10_000));
    t.unref?.();
    timer = t;
  };
  const stopTimer = (): void => {
    if (timer !== undefined) clearTimer(timer);
    timer = undefined;
  };

  return {
    scenarioStarted(index, total, name) {
      state = { index, total, scenario: name, scenarioStartMs: now() };
      start();
      if (opts.mode === 'tty') draw();
    },
    loadStarted(label, spec) {
      if (!state) return;
      intervalMs = spec.seriesIntervalMs ?? 1000;
      window = { buckets: [] };
      state = { ...state, load: { label, phase: loadPhase(label), startMs: now(), warmupMs: spec.warmupMs ?? 0, durationMs: spec.durationMs } };
      if (opts.mode === 'tty') draw();
    },
    bucket(b) {
      window.buckets.push({ ...b, intervalMs });
      // Enough buckets for one second at any width.
      if (window.buckets.length > 1000) window.buckets.splice(0, window.buckets.length - 1000);
    },
    loadFinished() {
      if (!state) return;
      const { load: _done, ...rest } = state;
      state = rest;
    },
    scenarioFinished() {
      erase();
      state = undefined;
      stopTimer();
    },
    stop() {
      erase();
      state = undefined;
      stopTimer();
    },
    wrap(fn) {
      return (...a) => {
        erase();
        fn(...a);
        if (state && opts.mode === 'tty') draw();
      };
    },
  };
}
