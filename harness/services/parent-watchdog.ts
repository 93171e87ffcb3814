/**
 * Preloaded (`node --import`) into every service the harness starts. When
 * the harness dies without stopping its children (SIGKILL, OOM kill), the
 * child is re-parented; this notices within CHECK_INTERVAL_MS and sends the
 * child SIGTERM, so its own graceful shutdown runs and no service outlives
 * the harness. Balancer workers inherit the flag and watch their primary.
 */

/** How often the parent is checked, ms. */
const CHECK_INTERVAL_MS = 500;

const parentPid = process.ppid;
const timer = setInterval(() => {
  if (process.ppid === parentPid) return;
  clearInterval(timer);
  process.kill(process.pid, 'SIGTERM');
}, CHECK_INTERVAL_MS);
// Never keeps the service alive on its own.
timer.unref();
