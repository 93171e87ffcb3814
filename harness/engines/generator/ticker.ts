/**
 * Wake-ups for the generator's send loop. Node's timers resolve whole
 * milliseconds (a setTimeout(1) fires 1-1.2 ms later), which would add up to
 * a millisecond of send lateness to every latency measured from the intended
 * send time. The `worker` ticker wakes the loop within tens of µs of each
 * tick instead, without spinning a core.
 */
import { Worker } from 'node:worker_threads';
import { monoNowMs } from './clock.js';
import type { TickerName } from './protocol.js';
import type { TickerWorkerData } from './ticker-worker.js';

export interface Ticker {
  /** Stops ticking; idempotent. */
  stop(): void;
}

/** Ticks at `firstTickMs + j * tickMs` (monotonic ms, clock.ts) until stopped. */
export function startTicker(name: TickerName, firstTickMs: number, tickMs: number, onTick: () => void): Ticker {
  return name === 'worker' ? startWorkerTicker(firstTickMs, tickMs, onTick) : startTimerTicker(firstTickMs, tickMs, onTick);
}

function startWorkerTicker(firstTickMs: number, tickMs: number, onTick: () => void): Ticker {
  const control = new SharedArrayBuffer(4);
  const workerData: TickerWorkerData = { firstTickMs, tickMs, control };
  const worker = new Worker(new URL('./ticker-worker.js', import.meta.url), { workerData });
  worker.on('message', onTick);
  worker.on('error', (err) => {
    // Without the worker the loop still runs from responses and housekeeping,
    // only less precisely; say so and fall back to timers.
    process.emitWarning(`open-loop ticker worker failed, falling back to timers: ${String(err)}`);
    fallback = startTimerTicker(firstTickMs, tickMs, onTick);
  });
  worker.unref();
  let fallback: Ticker | undefined;
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      Atomics.store(new Int32Array(control), 0, 1);
      Atomics.notify(new Int32Array(control), 0);
      fallback?.stop();
      void worker.terminate();
    },
  };
}

function startTimerTicker(firstTickMs: number, tickMs: number, onTick: () => void): Ticker {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (): void => {
    if (stopped) return;
    const now = monoNowMs();
    const j = Math.max(0, Math.ceil((now - firstTickMs) / tickMs));
    const waitMs = firstTickMs + j * tickMs - now;
    timer = setTimeout(fire, Math.max(1, Math.ceil(waitMs)));
  };
  const fire = (): void => {
    onTick();
    arm();
  };
  arm();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
