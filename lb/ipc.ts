/**
 * Messages between the cluster primary and the proxy workers (node IPC,
 * JSON). Health has one source of truth, the primary; workers hold a copy
 * per config generation.
 */
import type { LbConfig } from '../common/config.js';
import type { WorkerSnapshot } from './metrics/worker-counters.js';

/** Primary -> worker. */
export type PrimaryMessage =
  /** Install this config (first one: also start listening on `listenPort`,
   * binding it itself with SO_REUSEPORT when `reusePort`, else through the
   * cluster's shared or round-robin handle). */
  | { t: 'lb:config'; generation: number; lb: LbConfig; states: boolean[]; listenPort: number; reusePort: boolean }
  /** Backend `index` of `generation` changed state. */
  | { t: 'lb:health'; generation: number; index: number; up: boolean }
  /** Reply with a `lb:snapshot` carrying the same id. */
  | { t: 'lb:snapshot'; id: number }
  /** Stop accepting, finish in-flight requests within `drainMs`, exit 0. */
  | { t: 'lb:drain'; drainMs: number };

/** Worker -> primary. */
export type WorkerMessage =
  /** The worker's message handler is installed; send it the config. */
  | { t: 'lb:ready' }
  | { t: 'lb:listening'; port: number }
  | { t: 'lb:listen-error'; message: string }
  | { t: 'lb:snapshot'; id: number; snapshot: WorkerSnapshot }
  /** A refused/reset connection to backend `index` of `generation`. */
  | { t: 'lb:passive'; generation: number; index: number; reason: string };

/** Whether `msg` is one of ours (cluster also sends its own messages). */
export function isLbMessage(msg: unknown): msg is { t: string } {
  return typeof msg === 'object' && msg !== null && typeof (msg as { t?: unknown }).t === 'string' && (msg as { t: string }).t.startsWith('lb:');
}
