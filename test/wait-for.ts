/** Options of waitFor. */
export interface WaitForOptions {
  /** Poll interval, ms. Default 20. */
  stepMs?: number;
  /** What is awaited, for the error (a function is called only on timeout, e.g. to add a log). */
  what?: string | (() => string);
}

/**
 * Polls `cond` until it holds and resolves with the ms that took; throws when
 * it still does not hold after `timeoutMs`. The timeout bounds a hang: pick it
 * far above any plausible slowness, it is not a speed claim. The third
 * argument may be the poll interval in ms alone.
 */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, options: number | WaitForOptions = {}): Promise<number> {
  const { stepMs = 20, what = 'the condition' } = typeof options === 'number' ? { stepMs: options } : options;
  const t0 = performance.now();
  for (;;) {
    if (await cond()) return performance.now() - t0;
    if (performance.now() - t0 >= timeoutMs) break;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
}

/**
 * Resolves with `promise`'s value, or throws naming `what` when it has not
 * settled within `timeoutMs` (a hang bound, far above normal, as in waitFor).
 */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
