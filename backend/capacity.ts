/**
 * The fixed-capacity fault: a backend that serves at most
 * `concurrencyLimit` traffic requests at a time, each holding its slot for
 * `serviceTimeMs`, with the rest waiting in arrival order. Its capacity is
 * known in advance (`concurrencyLimit * 1000 / serviceTimeMs` requests/s),
 * which is what the tests of capacity-relative scenarios (latency_curve's
 * knee) need: a server whose saturation point is a stated number.
 */
import type { ServerResponse } from 'node:http';
import type { BackendState } from './state.js';
import { itemAt } from '../common/checked.js';

/** Service slots in use and the requests waiting for one. */
export interface CapacityState {
  inService: number;
  /** Waiting requests, FIFO; `head` is the next to start. */
  queue: (() => void)[];
  head: number;
}

export function createCapacityState(): CapacityState {
  return { inService: 0, queue: [], head: 0 };
}

/**
 * Runs `answer` once a service slot is free and `serviceTimeMs` has passed
 * in it. A request whose client goes away while it waits or is in service
 * gives its slot back without being answered. With `concurrencyLimit` 0 the
 * slots are unbounded (only `serviceTimeMs` applies).
 */
export function serveInSlot(state: BackendState, res: ServerResponse, answer: () => void): void {
  const cap = state.capacity;
  let gone = false;
  let timer: NodeJS.Timeout | undefined;
  let holding = false;
  const release = (): void => {
    if (!holding) return;
    holding = false;
    cap.inService--;
    startNext(state);
  };
  res.once('close', () => {
    gone = true;
    if (timer) clearTimeout(timer);
    release();
  });
  const start = (): void => {
    // Gave up while waiting: the slot goes to the next in line.
    if (gone) return;
    holding = true;
    cap.inService++;
    const done = (): void => {
      timer = undefined;
      release();
      answer();
    };
    if (state.faults.serviceTimeMs > 0) timer = setTimeout(done, state.faults.serviceTimeMs);
    else done();
  };
  const limit = state.faults.concurrencyLimit;
  if (limit === 0 || (cap.inService < limit && cap.head === cap.queue.length)) start();
  else cap.queue.push(start);
}

/** Starts waiting requests while slots are free (or the limit was lifted). */
function startNext(state: BackendState): void {
  const cap = state.capacity;
  while (cap.head < cap.queue.length) {
    const limit = state.faults.concurrencyLimit;
    if (limit !== 0 && cap.inService >= limit) return;
    const next = itemAt(cap.queue, cap.head++, 'the next waiting request');
    if (cap.head > 1024 && cap.head * 2 > cap.queue.length) {
      cap.queue = cap.queue.slice(cap.head);
      cap.head = 0;
    }
    next();
  }
}
