/**
 * HAProxy configuration from an `lb` section (pure). HAProxy runs in the
 * foreground (`-f FILE -db`), from the target's private directory; nothing
 * of the system's HAProxy (its /etc/haproxy, its service) is touched.
 *
 * Mapping:
 * - algorithm: round_robin `roundrobin` with every weight 1;
 *   weighted_round_robin `roundrobin`; least_connections `leastconn`;
 *   random `random`; power_of_two_choices `random(2)`; consistent_hash
 *   `source` (or `hdr(NAME)`) with `hash-type consistent`.
 * - health: active `check inter/rise/fall` with `option httpchk GET PATH`
 *   and `timeout check`; passive as `observe layer4 error-limit 1
 *   on-error mark-down`.
 * - pool: server-side keep-alive (`http-reuse safe`, `pool-max-conn`,
 *   `pool-purge-delay`); keepAlive false is `option http-server-close` and
 *   `http-reuse never`.
 * - timeouts: connect, server (max of headers and body gap), queue
 *   (timeouts.requestMs; HAProxy has no overall deadline), client,
 *   http-keep-alive, http-request; retries: `retries N`, `retry-on` connection
 *   failures and empty or broken responses, and `option redispatch 1`.
 * - metrics: the built-in Prometheus exporter on the metrics address.
 * HAProxy weights go up to 256: larger ones are scaled down (see haproxyNotes).
 */
import type { LbConfig } from '../../../common/config.js';

/** Names of the proxies, as they appear in the exporter's `proxy` label. */
export const HAPROXY_FRONTEND = 'lbbench_in';
export const HAPROXY_BACKEND = 'lbbench_backends';

/** HAProxy's largest server weight. */
const MAX_WEIGHT = 256;

function bindAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The `balance` line (and `hash-type` for consistent hashing). */
export function haproxyBalanceLines(lb: LbConfig): string[] {
  switch (lb.algorithm) {
    case 'round_robin':
    case 'weighted_round_robin':
      return ['balance roundrobin'];
    case 'least_connections':
      return ['balance leastconn'];
    case 'random':
      return ['balance random'];
    case 'power_of_two_choices':
      return ['balance random(2)'];
    case 'consistent_hash':
      return [lb.hash.key === 'header' && lb.hash.header ? `balance hdr(${lb.hash.header})` : 'balance source', 'hash-type consistent'];
  }
}

/** Weights as HAProxy takes them (1..256, scaled when any is larger). */
export function haproxyWeights(lb: LbConfig): number[] {
  if (lb.algorithm === 'round_robin') return lb.backends.map(() => 1);
  const max = Math.max(...lb.backends.map((b) => b.weight));
  if (max <= MAX_WEIGHT) return lb.backends.map((b) => b.weight);
  return lb.backends.map((b) => Math.max(1, Math.round((b.weight * MAX_WEIGHT) / max)));
}

/** Report notes on how `lb` maps onto HAProxy. */
export function haproxyNotes(lb: LbConfig): string[] {
  const notes: string[] = [];
  const a = lb.health.active;
  if (a.enabled) notes.push(`HAProxy: active checks GET ${a.path} inter ${a.intervalMs}ms rise ${a.rise} fall ${a.fall}`);
  else notes.push('HAProxy: no active health checks (lb.health.active.enabled is false)');
  if (lb.backends.some((b) => b.weight > MAX_WEIGHT)) notes.push(`HAProxy: weights above ${MAX_WEIGHT} were scaled to ${haproxyWeights(lb).join('/')}`);
  notes.push("HAProxy: metrics from its Prometheus exporter; upstream connections from the test backends' own counters");
  return notes;
}

/** The whole haproxy.cfg for `lb`. */
export function renderHaproxyConfig(lb: LbConfig): string {
  const t = lb.timeouts;
  const a = lb.health.active;
  const weights = haproxyWeights(lb);
  const threads = lb.workers === 'auto' ? [] : [`  nbthread ${lb.workers}`];
  const check = a.enabled;
  const serverOpts = [
    ...(check ? [`check inter ${a.intervalMs}ms rise ${a.rise} fall ${a.fall}`] : []),
    ...(check && lb.health.passive.enabled ? ['observe layer4 error-limit 1 on-error mark-down'] : []),
    ...(lb.pool.keepAlive ? [`pool-max-conn ${lb.pool.maxConnections}`, `pool-purge-delay ${lb.pool.idleTimeoutMs}ms`] : []),
  ].join(' ');
  const servers = lb.backends.map((b, i) => {
    const u = new URL(b.url);
    return `  server ${b.name} ${u.hostname}:${u.port || 80} weight ${weights[i]}${serverOpts ? ` ${serverOpts}` : ''}`;
  });
  return [
    '# Written by lbbench for one benchmark run; HAProxy runs it in the foreground (-db).',
    'global',
    ...threads,
    '',
    'defaults',
    '  mode http',
    '  no log',
    `  timeout connect ${t.connectMs}ms`,
    `  timeout client ${Math.max(t.clientIdleMs, t.bodyMs, t.clientBodyMs, t.clientSendMs)}ms`,
    `  timeout http-keep-alive ${t.clientIdleMs}ms`,
    `  timeout http-request ${t.clientHeadersMs}ms`,
    `  timeout server ${Math.max(t.headersMs, t.bodyMs)}ms`,
    // The wait for a server slot, which our request deadline bounds too.
    `  timeout queue ${t.requestMs}ms`,
    `  timeout check ${a.timeoutMs}ms`,
    `  retries ${lb.retries.max}`,
    // Like our balancer: retry a refused, reset or silent backend elsewhere, never on a status.
    ...(lb.retries.max > 0 ? ['  retry-on conn-failure empty-response junk-response response-timeout'] : []),
    '  option redispatch 1',
    ...(lb.pool.keepAlive ? ['  http-reuse safe'] : ['  option http-server-close', '  http-reuse never']),
    '',
    `frontend ${HAPROXY_FRONTEND}`,
    `  bind ${bindAddress(lb.listen.host, lb.listen.port)}`,
    `  default_backend ${HAPROXY_BACKEND}`,
    '',
    'frontend lbbench_metrics',
    `  bind ${bindAddress(lb.metrics.host, lb.metrics.port)}`,
    '  http-request use-service prometheus-exporter if { path /metrics }',
    '  http-request return status 404',
    '',
    `backend ${HAPROXY_BACKEND}`,
    ...haproxyBalanceLines(lb).map((l) => `  ${l}`),
    ...(check ? [`  option httpchk GET ${a.path}`] : []),
    ...servers,
    '',
  ].join('\n');
}
