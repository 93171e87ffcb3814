/**
 * nginx configuration from an `lb` section (pure). nginx runs in the
 * foreground with `-p DIR -e stderr -c FILE -g 'daemon off;'`, so its pid
 * file, logs and temp paths all live in the target's private DIR and the
 * system's nginx (its /etc/nginx, its service) is never touched.
 *
 * Mapping (what nginx open source has):
 * - algorithm: weighted round robin is nginx's default; round_robin sends
 *   every weight as 1; least_connections `least_conn`; random `random`;
 *   power_of_two_choices `random two least_conn`; consistent_hash
 *   `hash $remote_addr consistent` (or `$http_<header>`).
 * - health: passive only (`max_fails`, `fail_timeout`); there is no active
 *   check and no health gauge in nginx open source (see nginxNotes).
 * - pool: `keepalive N` (idle connections cached per worker),
 *   `keepalive_timeout`, HTTP/1.1 upstream with an empty Connection header;
 *   keepAlive false sends `Connection: close` and caches nothing.
 * - timeouts: connect, read (max of headers and body gap), client idle and
 *   client headers; retries: `proxy_next_upstream error timeout` with
 *   `proxy_next_upstream_tries` = retries + 1, `proxy_next_upstream_timeout`
 *   = timeouts.requestMs (no retry budget in nginx).
 */
import type { LbConfig } from '../../../common/config.js';

/** Name of the upstream block. */
export const NGINX_UPSTREAM = 'lbbench_backends';
/** Path of stub_status on the metrics address. */
export const NGINX_STUB_STATUS_PATH = '/stub_status';

/** Connections per nginx worker (client and upstream sockets both count);
 * below the machine's 20,000 open files per process. */
const WORKER_CONNECTIONS = 19_000;

/** `host:port` for a listen directive (IPv6 literals in brackets). */
function listenAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The upstream's balancing directive, or '' for nginx's default (weighted round robin). */
export function nginxBalanceDirective(lb: LbConfig): string {
  switch (lb.algorithm) {
    case 'round_robin':
    case 'weighted_round_robin':
      return '';
    case 'least_connections':
      return 'least_conn;';
    case 'random':
      return 'random;';
    case 'power_of_two_choices':
      return 'random two least_conn;';
    case 'consistent_hash': {
      const key = lb.hash.key === 'header' && lb.hash.header ? `$http_${lb.hash.header.toLowerCase().replace(/-/g, '_')}` : '$remote_addr';
      return `hash ${key} consistent;`;
    }
  }
}

/** Passive health: failures within fail_timeout before a server is skipped for fail_timeout. */
export function nginxPassiveHealth(lb: LbConfig): { maxFails: number; failTimeoutS: number } {
  const a = lb.health.active;
  return {
    // Our passive check marks a backend down on the first refused connection.
    maxFails: lb.health.passive.enabled ? 1 : a.fall,
    failTimeoutS: Math.max(1, Math.ceil((a.intervalMs * a.rise) / 1000)),
  };
}

/** Report notes on how `lb` maps onto nginx. */
export function nginxNotes(lb: LbConfig): string[] {
  const h = nginxPassiveHealth(lb);
  return [
    `nginx open source: passive health checks only (max_fails=${h.maxFails} fail_timeout=${h.failTimeoutS}s), no active checks and no health gauge, so failover detection is N/A`,
    "per-backend counts, upstream connections and bytes come from the test backends' own counters; active connections from stub_status",
  ];
}

/** The whole nginx.conf for `lb`, with every path inside `dir`. */
export function renderNginxConfig(lb: LbConfig, dir: string): string {
  const workers = lb.workers === 'auto' ? 'auto' : String(lb.workers);
  const t = lb.timeouts;
  const h = nginxPassiveHealth(lb);
  const weighted = lb.algorithm !== 'round_robin';
  const servers = lb.backends.map((b) => {
    const u = new URL(b.url);
    return `    server ${u.hostname}:${u.port || 80} weight=${weighted ? b.weight : 1} max_fails=${h.maxFails} fail_timeout=${h.failTimeoutS}s;`;
  });
  const balance = nginxBalanceDirective(lb);
  const pool = lb.pool.keepAlive
    ? [`    keepalive ${lb.pool.maxConnections};`, `    keepalive_timeout ${lb.pool.idleTimeoutMs}ms;`, '    keepalive_requests 1000000;']
    : [];
  const headerBuffer = Math.max(1024, lb.limits.maxHeaderBytes);
  return [
    `# Written by lbbench for one benchmark run; nginx runs it with -p ${dir} in the foreground.`,
    `worker_processes ${workers};`,
    `pid ${dir}/nginx.pid;`,
    'error_log stderr warn;',
    '',
    `events { worker_connections ${WORKER_CONNECTIONS}; }`,
    '',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${dir}/client_body_temp;`,
    `  proxy_temp_path ${dir}/proxy_temp;`,
    `  fastcgi_temp_path ${dir}/fastcgi_temp;`,
    `  uwsgi_temp_path ${dir}/uwsgi_temp;`,
    `  scgi_temp_path ${dir}/scgi_temp;`,
    `  keepalive_timeout ${t.clientIdleMs}ms;`,
    '  keepalive_requests 1000000;',
    `  client_header_timeout ${t.clientHeadersMs}ms;`,
    `  client_body_timeout ${t.clientBodyMs}ms;`,
    `  send_timeout ${t.clientSendMs}ms;`,
    `  large_client_header_buffers 4 ${headerBuffer};`,
    '  client_max_body_size 0;',
    '',
    `  upstream ${NGINX_UPSTREAM} {`,
    ...(balance ? [`    ${balance}`] : []),
    ...servers,
    ...pool,
    '  }',
    '',
    '  server {',
    `    listen ${listenAddress(lb.listen.host, lb.listen.port)};`,
    '    location / {',
    `      proxy_pass http://${NGINX_UPSTREAM};`,
    '      proxy_http_version 1.1;',
    `      proxy_set_header Connection "${lb.pool.keepAlive ? '' : 'close'}";`,
    '      proxy_set_header Host $host;',
    `      proxy_connect_timeout ${t.connectMs}ms;`,
    `      proxy_read_timeout ${Math.max(t.headersMs, t.bodyMs)}ms;`,
    `      proxy_send_timeout ${t.bodyMs}ms;`,
    '      proxy_next_upstream error timeout;',
    `      proxy_next_upstream_tries ${lb.retries.max + 1};`,
    // Our request deadline bounds every try together, as this does in nginx.
    `      proxy_next_upstream_timeout ${t.requestMs}ms;`,
    // Stream request bodies, and buffer responses in memory only: no disk in the path.
    '      proxy_request_buffering off;',
    '      proxy_max_temp_file_size 0;',
    '    }',
    '  }',
    '',
    '  server {',
    `    listen ${listenAddress(lb.metrics.host, lb.metrics.port)};`,
    `    location = ${NGINX_STUB_STATUS_PATH} { stub_status; }`,
    '    location / { return 404; }',
    '  }',
    '}',
    '',
  ].join('\n');
}
