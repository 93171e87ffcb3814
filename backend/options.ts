/**
 * Options and fault settings of the test backend, and their validation. One
 * schema serves the CLI flags, `createBackendServer` and the `/control`
 * endpoint, so a value is judged the same way wherever it comes from.
 */
import { z } from 'zod';
import { BACKEND_NAME_PATTERN, BACKEND_NAME_RULE } from '../common/backend-name.js';
import { UsageError } from '../common/errors.js';

/** Largest added latency and `/delay/:ms`, ms (one hour). */
export const MAX_DELAY_MS = 3_600_000;

/**
 * Faults the backend injects. Read on every request, so a change takes effect
 * at once. Faults never apply to `/control`, `/stats` and `/metrics`.
 * Mutating the object directly works but skips validation; prefer
 * `BackendServer.setFaults` or `POST /control`.
 */
export interface FaultSettings {
  /** Added latency before every answer, ms, integer 0..3,600,000. Default 0. */
  latencyMs: number;
  /** Fraction of requests answered `500`, 0..1. Default 0. */
  errorRate: number;
  /** `/health` answers 503 instead of 200. Default false. */
  unhealthy: boolean;
  /** Accept requests and never answer them (timeout tests). Default false. */
  hang: boolean;
  /** Fraction of requests whose connection is destroyed after the response
   * headers and part of the body, 0..1. Default 0. */
  closeRate: number;
  /** Fixed capacity: at most this many traffic requests are in service at
   * once; the rest wait in arrival order. 0 means unbounded. Integer
   * 0..100,000. Default 0. With `serviceTimeMs` the backend serves at most
   * `concurrencyLimit * 1000 / serviceTimeMs` requests/s (a test double for
   * a server of known capacity). */
  concurrencyLimit: number;
  /** Time each traffic request holds its service slot before it is
   * answered, ms, integer 0..3,600,000. Default 0. Unlike `latencyMs`, it
   * consumes capacity when `concurrencyLimit` is set. */
  serviceTimeMs: number;
}

/** The settings with no fault at all. */
export const NO_FAULTS: Readonly<FaultSettings> = Object.freeze({
  latencyMs: 0,
  errorRate: 0,
  unhealthy: false,
  hang: false,
  closeRate: 0,
  concurrencyLimit: 0,
  serviceTimeMs: 0,
});

const fraction = z.number().min(0).max(1);

/** A partial update of FaultSettings; unknown keys are rejected. */
export const FaultPatchSchema = z.strictObject({
  latencyMs: z.number().int().min(0).max(MAX_DELAY_MS).optional(),
  errorRate: fraction.optional(),
  unhealthy: z.boolean().optional(),
  hang: z.boolean().optional(),
  closeRate: fraction.optional(),
  concurrencyLimit: z.number().int().min(0).max(100_000).optional(),
  serviceTimeMs: z.number().int().min(0).max(MAX_DELAY_MS).optional(),
});
export type FaultPatch = z.output<typeof FaultPatchSchema>;

/** Options of one backend server. */
export interface BackendOptions {
  /** TCP port; 0 picks a free one (tests). Default 0. */
  port?: number;
  /** Address to bind. Default `0.0.0.0`. */
  host?: string;
  /** Name in the `x-backend` header, `/echo` body, `/stats` and metric
   * labels; letters, digits, `_ . : -`. Default `backend-<port>` with the
   * port actually bound. */
  name?: string;
  /** Faults active from the start. Default none. */
  faults?: FaultPatch;
  /** Random source in [0, 1) for `errorRate` and `closeRate`; inject a fixed
   * sequence in tests. Default `Math.random`. */
  random?: () => number;
  /** On close, in-flight requests get this long to finish before their
   * connections are destroyed, ms. Default 2000. */
  drainMs?: number;
  /** Idle keep-alive connections are closed after this, ms. Default 65000
   * (above the balancer's default upstream idle timeout of 60000). */
  keepAliveTimeoutMs?: number;
  /** Add prom-client's default process metrics (CPU, RSS, event-loop lag) to
   * `/metrics`. Default false; `runBackend` turns it on. */
  processMetrics?: boolean;
}

/**
 * Validates a fault patch (from JSON or flags). Returns the patch, or throws
 * UsageError whose message lists every problem as `field: problem (got X)`.
 */
export function parseFaultPatch(input: unknown): FaultPatch {
  const parsed = FaultPatchSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const field = issue.path.join('.');
    const got = issue.path.length > 0 ? valueAt(input, issue.path) : input;
    const where = field === '' ? 'faults' : field;
    return `${where}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
  });
  throw new UsageError(`invalid fault settings: ${problems.join('; ')}`);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** Copies the defined fields of `patch` onto `faults`. */
export function applyFaultPatch(faults: FaultSettings, patch: FaultPatch): void {
  if (patch.latencyMs !== undefined) faults.latencyMs = patch.latencyMs;
  if (patch.errorRate !== undefined) faults.errorRate = patch.errorRate;
  if (patch.unhealthy !== undefined) faults.unhealthy = patch.unhealthy;
  if (patch.hang !== undefined) faults.hang = patch.hang;
  if (patch.closeRate !== undefined) faults.closeRate = patch.closeRate;
  if (patch.concurrencyLimit !== undefined) faults.concurrencyLimit = patch.concurrencyLimit;
  if (patch.serviceTimeMs !== undefined) faults.serviceTimeMs = patch.serviceTimeMs;
}

/** Throws UsageError unless `name` is a valid backend name. */
export function checkBackendName(name: string): void {
  if (!BACKEND_NAME_PATTERN.test(name)) {
    throw new UsageError(`invalid backend name ${JSON.stringify(name)}: ${BACKEND_NAME_RULE}`);
  }
}

/** Throws UsageError unless `port` is an integer 0..65535. */
export function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`invalid port ${JSON.stringify(port)}: expected an integer 0..65535`);
  }
}
