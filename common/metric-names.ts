/**
 * Names of the balancer's Prometheus metrics. These are a contract
 * (README, "Metrics"): the harness scrapes them and users build dashboards on them.
 */
export const MetricName = {
  /** gauge: open client connections, summed over workers. */
  activeConnections: 'lb_active_connections',
  /** gauge{backend}: 1 healthy, 0 not. */
  backendHealth: 'lb_backend_health',
  /** counter{direction="in"|"out"}: body bytes from / to clients. */
  bytes: 'lb_bytes_total',
  /** counter{backend,code}: one per response sent to a client. */
  requests: 'lb_requests_total',
  /** histogram{backend}: time from request received to response finished. */
  requestDuration: 'lb_request_duration_seconds',
  /** gauge{backend}: requests in flight to a backend. */
  backendActiveRequests: 'lb_backend_active_requests',
  /** gauge{backend}: requests waiting for an upstream connection (every
   * `pool.maxConnections` socket busy; HAProxy's qcur, Envoy's rq_pending_active). */
  backendQueuedRequests: 'lb_backend_queued_requests',
  /** gauge{backend}: open upstream sockets. */
  upstreamConnections: 'lb_upstream_connections',
  /** counter{backend}: new upstream connections opened. */
  upstreamConnects: 'lb_upstream_connects_total',
  /** counter{backend,reason}: retries, labelled with the backend that failed. */
  retries: 'lb_retries_total',
  /** counter{backend,result="success"|"failure"}: active health checks. */
  healthChecks: 'lb_health_checks_total',
  /** counter{kind}: errors by kind (see ErrorKind). */
  errors: 'lb_errors_total',
  /** counter: worker processes restarted after dying. */
  workerRestarts: 'lb_worker_restarts_total',
  /** gauge: balancer worker processes currently running. */
  workers: 'lb_workers',
} as const;

/** Values of the `kind` label of `lb_errors_total`. */
export const ErrorKind = {
  noBackend: 'no_backend',
  connect: 'connect',
  timeout: 'timeout',
  upstreamReset: 'upstream_reset',
  clientAbort: 'client_abort',
  badRequest: 'bad_request',
  headersTooLarge: 'headers_too_large',
  badResponse: 'bad_response',
  /** `timeouts.requestMs` passed before a response head (504). */
  deadline: 'deadline',
  /** A retry refused by the retry budget (the failure's own 502/504). */
  retryBudget: 'retry_budget',
  /** Shed for overload (503): a client connection above
   * `limits.maxConnections`, or a full backend wait queue (`pool.maxQueue`). */
  overload: 'overload',
  /** A request body over `limits.maxBodyBytes` (413). */
  bodyTooLarge: 'body_too_large',
} as const;
export type ErrorKindValue = (typeof ErrorKind)[keyof typeof ErrorKind];
