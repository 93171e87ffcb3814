/**
 * Worker thread of the precise ticker (ticker.ts). It sleeps with
 * Atomics.wait, whose timeout has sub-millisecond resolution (a futex), and
 * posts the tick number to the generator's event loop at each tick time.
 * Ticks missed while the main thread or this one was descheduled are skipped,
 * not queued: the main thread sends everything due at each tick anyway.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { monoNowMs } from './clock.js';

/** workerData of the ticker worker. */
export interface TickerWorkerData {
  /** First tick, monotonic ms (clock.ts). */
  firstTickMs: number;
  /** Distance between ticks, ms. */
  tickMs: number;
  /** Int32Array over a SharedArrayBuffer; [0] != 0 means stop. */
  control: SharedArrayBuffer;
}

const data = workerData as TickerWorkerData;
const control = new Int32Array(data.control);
let j = 0;
while (Atomics.load(control, 0) === 0) {
  const target = data.firstTickMs + j * data.tickMs;
  const now = monoNowMs();
  if (now >= target) {
    parentPort!.postMessage(j);
    j = Math.floor((now - data.firstTickMs) / data.tickMs) + 1;
    continue;
  }
  Atomics.wait(control, 0, 0, target - now);
}
