/**
 * Every error code lbbench raises: one closed set of stable strings with the
 * `LBB_ERR_` prefix, in the manner of undici's `UND_ERR_*`. Errors carry one
 * in `code` (LbbenchError and its subclasses, the balancer's UpstreamError),
 * the test backend puts one in its JSON error bodies, and tests and users
 * may match on them, so a code never changes its meaning. A new code is one
 * line here.
 */
export const ErrorCode = {
  // Input and usage (exit 2).
  /** A config, scenario or result file is missing or invalid. */
  BAD_INPUT: 'LBB_ERR_BAD_INPUT',
  /** Bad command-line usage. */
  USAGE: 'LBB_ERR_USAGE',
  /** `lb.algorithm` names no balancer. */
  UNKNOWN_ALGORITHM: 'LBB_ERR_UNKNOWN_ALGORITHM',
  /** A backend's weight or health-check URL is unusable. */
  BAD_BACKEND: 'LBB_ERR_BAD_BACKEND',

  // Services the harness starts and the run itself (exit 3).
  /** A service did not start or did not answer in time. */
  SERVICE_START: 'LBB_ERR_SERVICE_START',
  /** A service died during a scenario or `serve`. */
  SERVICE_DIED: 'LBB_ERR_SERVICE_DIED',
  /** A configured port is taken. */
  PORT_BUSY: 'LBB_ERR_PORT_BUSY',
  /** A host cannot be bound to pick a free port. */
  BIND: 'LBB_ERR_BIND',
  /** Ctrl-C (SIGINT/SIGTERM) stopped a wait. */
  INTERRUPTED: 'LBB_ERR_INTERRUPTED',
  /** No backend runs for the direct baseline. */
  NO_BACKEND: 'LBB_ERR_NO_BACKEND',
  /** The balancer's `/metrics` could not be scraped. */
  SCRAPE_FAILED: 'LBB_ERR_SCRAPE_FAILED',
  /** A backend's `/stats` could not be read. */
  BACKEND_STATS: 'LBB_ERR_BACKEND_STATS',
  /** A test backend refused a fault change on `/control` (chaos). */
  FAULT_CONTROL: 'LBB_ERR_FAULT_CONTROL',
  /** A scenario's background load ended before its measured window. */
  LOAD_ENDED: 'LBB_ERR_LOAD_ENDED',

  // Load generators (harness/engines/).
  /** A generator process failed. */
  GENERATOR: 'LBB_ERR_GENERATOR',
  /** A generator process threw an uncaught exception. */
  GENERATOR_CRASH: 'LBB_ERR_GENERATOR_CRASH',
  /** A generator process could not be spawned. */
  GENERATOR_SPAWN: 'LBB_ERR_GENERATOR_SPAWN',
  /** A generator process exited before reporting its result. */
  GENERATOR_EXIT: 'LBB_ERR_GENERATOR_EXIT',
  /** A generator reported a failure. */
  GENERATOR_FAILED: 'LBB_ERR_GENERATOR_FAILED',
  /** A generator did not finish in time. */
  GENERATOR_HUNG: 'LBB_ERR_GENERATOR_HUNG',
  /** Generators ran past their planned window. */
  GENERATOR_OVERRUN: 'LBB_ERR_GENERATOR_OVERRUN',
  /** Generators did not finish connecting in time. */
  GENERATOR_CONNECT: 'LBB_ERR_GENERATOR_CONNECT',
  /** A response the open-loop generator could not parse. */
  HTTP_PARSE: 'LBB_ERR_HTTP_PARSE',

  // The balancer (lb/).
  /** The balancer or its metrics cannot listen. */
  LISTEN: 'LBB_ERR_LISTEN',
  /** Workers did not listen in time. */
  START_TIMEOUT: 'LBB_ERR_START_TIMEOUT',
  /** A worker exited during start. */
  WORKER_EXIT: 'LBB_ERR_WORKER_EXIT',
  /** The cluster was started outside the primary. */
  NOT_PRIMARY: 'LBB_ERR_NOT_PRIMARY',
  /** Upstream: connect did not complete within `timeouts.connectMs` (504). */
  CONNECT_TIMEOUT: 'LBB_ERR_CONNECT_TIMEOUT',
  /** Upstream: no response head within `timeouts.headersMs` (504). */
  HEADERS_TIMEOUT: 'LBB_ERR_HEADERS_TIMEOUT',
  /** Upstream: no body bytes within `timeouts.bodyMs` (504). */
  BODY_TIMEOUT: 'LBB_ERR_BODY_TIMEOUT',
  /** Upstream: the backend closed before the response was complete (502). */
  UPSTREAM_CLOSED: 'LBB_ERR_UPSTREAM_CLOSED',
  /** Upstream: the backend sent a response with no request (502). */
  UPSTREAM_UNSOLICITED: 'LBB_ERR_UPSTREAM_UNSOLICITED',
  /** Upstream: a reload removed the backend (502, retried). */
  POOL_CLOSED: 'LBB_ERR_POOL_CLOSED',
  /** Upstream: the backend's wait queue (`pool.maxQueue`) is full (503). */
  POOL_QUEUE_FULL: 'LBB_ERR_POOL_QUEUE_FULL',
  /** Upstream: `timeouts.requestMs` passed before a response head (504). */
  REQUEST_DEADLINE: 'LBB_ERR_REQUEST_DEADLINE',
  /** Upstream: the backend's response head has a byte HTTP does not allow
   * (a control byte in the reason phrase, a field name or value) (502). */
  INVALID_RESPONSE_HEAD: 'LBB_ERR_INVALID_RESPONSE_HEAD',

  // The test backend (backend/).
  /** The backend cannot listen on its port. */
  BACKEND_LISTEN: 'LBB_ERR_BACKEND_LISTEN',
  /** `/control`: no such endpoint. */
  NOT_FOUND: 'LBB_ERR_NOT_FOUND',
  /** `/control`: method not allowed. */
  METHOD: 'LBB_ERR_METHOD',
  /** `/control`: body not JSON or not valid faults. */
  BAD_REQUEST: 'LBB_ERR_BAD_REQUEST',
  /** `/control`: body too large. */
  BODY_TOO_LARGE: 'LBB_ERR_BODY_TOO_LARGE',
  /** `/metrics` collection failed. */
  METRICS: 'LBB_ERR_METRICS',
  /** An unexpected failure inside the backend's admin endpoints. */
  INTERNAL: 'LBB_ERR_INTERNAL',
} as const;

/** One of the codes of ErrorCode. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];
