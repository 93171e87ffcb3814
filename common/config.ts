import { z } from 'zod';
import { BACKEND_NAME_PATTERN, BACKEND_NAME_RULE } from './backend-name.js';
import { parseThresholdExpr } from './threshold-expr.js';
import { readYamlFile, parseYamlText, validateYaml, type YamlSource } from './yaml-source.js';

/**
 * The one schema of `config.yaml`. It gives both the runtime validation and
 * the TypeScript types (`LbbenchConfig`). Every object is strict: an unknown
 * key is an error. Defaults are filled here, once, at the edge.
 */

const port = z.number().int().min(0).max(65535);
const positiveMs = z.number().int().min(1);

/** Names of the balancing algorithms; each is one file in lb/balancers/. */
export const ALGORITHMS = ['round_robin', 'weighted_round_robin', 'least_connections', 'random', 'power_of_two_choices', 'consistent_hash'] as const;
export type AlgorithmName = (typeof ALGORITHMS)[number];

const ListenSchema = (defaultPort: number) =>
  z
    .strictObject({
      /** Address to bind. Default `0.0.0.0`. */
      host: z.string().min(1).default('0.0.0.0'),
      /** TCP port; 0 picks a free one (tests). */
      port: port.default(defaultPort),
    })
    .prefault({});

const BackendSchema = z.strictObject({
  /** Label used in metrics and logs, e.g. `backend-8001`. */
  name: z.string().regex(BACKEND_NAME_PATTERN, BACKEND_NAME_RULE),
  /** `http://host:port`, no path. */
  url: z.string().refine(isHttpOrigin, { message: 'expected an http:// URL with host and port, e.g. http://127.0.0.1:8001' }),
  /** Relative share of traffic; integer 1..1000. Default 1. */
  weight: z.number().int().min(1).max(1000).default(1),
});

const HealthSchema = z
  .strictObject({
    active: z
      .strictObject({
        /** Send active checks. Default true. */
        enabled: z.boolean().default(true),
        /** Path of the HTTP GET check. Default `/health`. */
        path: z.string().startsWith('/').default('/health'),
        /** Time between checks of one backend, ms. Default 250. */
        intervalMs: positiveMs.default(250),
        /** A check slower than this fails, ms. Default 500. */
        timeoutMs: positiveMs.default(500),
        /** Consecutive successes to mark a backend up. Default 2. */
        rise: z.number().int().min(1).default(2),
        /** Consecutive failures to mark a backend down. Default 2. */
        fall: z.number().int().min(1).default(2),
      })
      .prefault({}),
    passive: z
      .strictObject({
        /** Mark a backend down at once when a connection to it is refused or reset. Default true. */
        enabled: z.boolean().default(true),
      })
      .prefault({}),
  })
  .prefault({});

const TimeoutsSchema = z
  .strictObject({
    /** Upstream TCP connect timeout, ms. Default 1000. Maps to 504 (retried). */
    connectMs: positiveMs.default(1000),
    /** Per-try timeout: from the request being sent (its body included) to
     * the response head, ms. Default 5000. Maps to 504; an idempotent request
     * is retried on another backend while `requestMs` leaves time, and each
     * try gets min(headersMs, time left). */
    headersMs: positiveMs.default(5_000),
    /** Total deadline per request across every attempt, until the response
     * head, ms. Default 15000 (Envoy's route timeout). It runs from the
     * request's arrival (the wait for an upstream connection counts) and
     * starts again when a request body has been sent whole, so an upload is
     * not cut by it. When it passes before a response head: 504,
     * `lb_errors_total{kind="deadline"}`. The body afterwards is bounded by
     * `bodyMs` per gap, not by this. */
    requestMs: positiveMs.default(15_000),
    /** Max gap between body chunks from the backend, ms. Default 60000. */
    bodyMs: positiveMs.default(60_000),
    /** Idle client keep-alive connections are closed after this, ms. Default 5000. */
    clientIdleMs: positiveMs.default(5_000),
    /** Time a client has to send complete request headers, ms. Default 10000. */
    clientHeadersMs: positiveMs.default(10_000),
    /** Max gap between two reads of a request body from the client, ms.
     * Default 60000 (nginx's client_body_timeout). Counted only while the
     * balancer is reading the body (not while backpressure from the backend
     * holds it). When it passes: 408 before the response has begun, else the
     * connection is cut; `lb_errors_total{kind="timeout"}`. */
    clientBodyMs: positiveMs.default(60_000),
    /** Max time the client may leave a response's bytes untaken, ms.
     * Default 60000 (nginx's send_timeout): between two writes the client
     * takes, not for the whole response. While response bytes wait in the
     * balancer's buffer (the client reads nothing), past this the connection
     * is cut, `lb_errors_total{kind="timeout"}`. An idle keep-alive
     * connection's clientIdleMs starts once its last response is flushed. */
    clientSendMs: positiveMs.default(60_000),
    /** Graceful shutdown: in-flight requests get this long to finish, ms. Default 10000. */
    drainMs: positiveMs.default(10_000),
  })
  .prefault({});

const PoolSchema = z
  .strictObject({
    /** Reuse upstream connections (HTTP keep-alive). Default true. */
    keepAlive: z.boolean().default(true),
    /** Max upstream sockets per backend per worker. Default 128. */
    maxConnections: z.number().int().min(1).max(100_000).default(128),
    /** Idle upstream sockets are closed after this, ms. Default 60000 (nginx's
     * upstream keepalive_timeout). Capped by the backend's own `Keep-Alive:
     * timeout` hint minus 1 s, so the balancer closes before the backend does. */
    idleTimeoutMs: positiveMs.default(60_000),
    /** Requests that may wait for an upstream socket, per backend per worker,
     * when all `maxConnections` are busy. Default 1024. When it is full the
     * request gets 503 at once (`lb_errors_total{kind="overload"}`); 0 means
     * no waiting at all. The wait is bounded by `timeouts.requestMs`. */
    maxQueue: z.number().int().min(0).max(1_000_000).default(1024),
  })
  .prefault({});

/** Largest consistent-hash ring (points over all backends); bounds the
 * memory and build time of a ring (~12 bytes a point). */
const MAX_RING_POINTS = 1_000_000;

const HashSchema = z
  .strictObject({
    /** What consistent_hash keys on: the client IP, or a request header. Default `client_ip`. */
    key: z.enum(['client_ip', 'header']).default('client_ip'),
    /** Header name when key is `header`. */
    header: z.string().min(1).optional(),
    /** Virtual nodes on the ring per unit of weight. Default 100. */
    virtualNodes: z.number().int().min(1).max(10_000).default(100),
  })
  .prefault({});

export const LbConfigSchema = z
  .strictObject({
    listen: ListenSchema(8080),
    metrics: ListenSchema(9090),
    /** `auto` = one per core, or a number >= 1. Default `auto`. */
    workers: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).default('auto'),
    /** How workers get new connections: `auto` (reuseport where the runtime
     * has it, Node >= 22.12, else shared), `reuseport`, `shared` (one accept
     * queue for all workers) or `round_robin` (node:cluster's handoff through
     * the primary). See lb/accept-mode.ts. Default `auto`. */
    accept: z.enum(['auto', 'reuseport', 'shared', 'round_robin']).default('auto'),
    algorithm: z.enum(ALGORITHMS).default('weighted_round_robin'),
    hash: HashSchema,
    backends: z.array(BackendSchema).min(1),
    health: HealthSchema,
    timeouts: TimeoutsSchema,
    pool: PoolSchema,
    retries: z
      .strictObject({
        /** Retries on a different backend per request. Default 2. */
        max: z.number().int().min(0).max(10).default(2),
        /** Retry budget (Envoy's): concurrent retries in a worker may be at most
         * max(minConcurrency, budgetPercent % of its active requests). Retries
         * of attempts that never connected (refused, unreachable, connect
         * timeout), and retries away from a backend the worker holds down
         * (passive health), are exempt. Over budget: the failure's own status (502/504)
         * and `lb_errors_total{kind="retry_budget"}`. Percent, 0..100. Default 20. */
        budgetPercent: z.number().min(0).max(100).default(20),
        /** Concurrent retries always allowed per worker, whatever the load. Default 3. */
        minConcurrency: z.number().int().min(0).max(100_000).default(3),
      })
      .prefault({}),
    limits: z
      .strictObject({
        /** Request header bytes before 431. Default 16384. */
        maxHeaderBytes: z.number().int().min(1024).max(1_048_576).default(16_384),
        /** Request body bytes before 413 (nginx's client_max_body_size): a
         * larger Content-Length is refused at once, a chunked body when its
         * sum passes it. Default 1073741824 (1 GiB). */
        maxBodyBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(1_073_741_824),
        /** Open client connections per worker; a connection above it gets a
         * 503 with `Connection: close` and counts in
         * `lb_errors_total{kind="overload"}`. Default 16384 (the fd limit
         * here is 20000 per process; upstream sockets need some too). */
        maxConnections: z.number().int().min(1).max(1_000_000).default(16_384),
      })
      .prefault({}),
  })
  .superRefine((lb, ctx) => {
    const names = new Map<string, number>();
    const origins = new Map<string, number>();
    lb.backends.forEach((b, i) => {
      const prevName = names.get(b.name);
      if (prevName !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['backends', i, 'name'], message: `duplicate name, also used by backends[${prevName}]` });
      } else names.set(b.name, i);
      // Port 0 means "pick a free port" (tests); the harness resolves it first.
      if (!isHttpOrigin(b.url) || new URL(b.url).port === '0') return;
      const origin = normalizeOrigin(b.url);
      const prevOrigin = origins.get(origin);
      if (prevOrigin !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['backends', i, 'url'], message: `duplicate address ${origin}, also used by backends[${prevOrigin}]` });
      } else origins.set(origin, i);
    });
    if (lb.listen.port !== 0 && lb.listen.port === lb.metrics.port) {
      ctx.addIssue({ code: 'custom', path: ['metrics', 'port'], message: `same port as listen.port (${lb.listen.port})` });
    }
    const ringPoints = lb.backends.reduce((sum, b) => sum + b.weight, 0) * lb.hash.virtualNodes;
    if (lb.algorithm === 'consistent_hash' && ringPoints > MAX_RING_POINTS) {
      ctx.addIssue({
        code: 'custom',
        path: ['hash', 'virtualNodes'],
        message: `the hash ring would have ${ringPoints} points (sum of weights x virtualNodes); at most ${MAX_RING_POINTS}`,
      });
    }
    if (lb.algorithm === 'consistent_hash' && lb.hash.key === 'header' && !lb.hash.header) {
      ctx.addIssue({ code: 'custom', path: ['hash', 'header'], message: 'required when hash.key is "header"' });
    }
  });

const thresholdExpr = z.string().superRefine((text, ctx) => {
  const parsed = parseThresholdExpr(text);
  if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
});

/** One target: `target` must hold to PASS; `excellent` too for EXCELLENT. */
export const ThresholdSchema = z.strictObject({
  /** Human name, shown in tables, e.g. `p99 at 1K connections`. */
  name: z.string().min(1),
  /** k6-style expression over the scenario's metrics, e.g. `p99_ms_c1000 < 20`. */
  target: thresholdExpr,
  excellent: thresholdExpr.optional(),
  /** When true, a metric the run did not produce gives N/A ("not measured")
   * instead of making the scenario INVALID (exit 3). Default false: a gated
   * threshold must be measured. */
  optional: z.boolean().optional(),
});
export type ThresholdConfig = z.output<typeof ThresholdSchema>;

/** Thresholds by scenario name. */
export const ThresholdSetSchema = z.record(z.string(), z.array(ThresholdSchema));

/** Generator CPU, % of one core, above which a load run counts as
 * generator-bound (its figures measure the generator, not the target):
 * the default of `harness.generatorCpuLimitPercent` and of every engine. */
export const DEFAULT_GENERATOR_CPU_LIMIT_PERCENT = 80;

export const HarnessConfigSchema = z
  .strictObject({
    /** Where reports are written. Default `reports`. */
    reportsDir: z.string().min(1).default('reports'),
    /** How long a service may take to answer after start, ms. Default 15000. */
    startTimeoutMs: positiveMs.default(15_000),
    /** Gauge and /proc sampling period, ms. Default 1000. */
    sampleIntervalMs: z.number().int().min(50).default(1000),
    /** Generator CPU (% of one core) above which a run is generator-bound. Default 80 (DEFAULT_GENERATOR_CPU_LIMIT_PERCENT). */
    generatorCpuLimitPercent: z.number().min(1).max(100).default(DEFAULT_GENERATOR_CPU_LIMIT_PERCENT),
    /** Latency fault every backend the harness starts adds before each
     * answer, ms (the backend's `--latency-ms`): what-if runs with slower
     * backends, and a known slowdown to check a comparison gate with. Default 0. */
    backendLatencyMs: z.number().int().min(0).max(60_000).default(0),
  })
  .prefault({});

/** Formats of a target's metrics URL: lbbench's own names, HAProxy's Prometheus exporter, or nginx stub_status. */
export const TARGET_METRICS_FORMATS = ['lbbench', 'haproxy', 'stub_status'] as const;
export type TargetMetricsFormat = (typeof TARGET_METRICS_FORMATS)[number];

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:8080');
const metricsUrl = z.string().refine((u) => /^http:\/\/[^/]+(\/.*)?$/.test(u), { message: 'expected an http:// URL, e.g. http://127.0.0.1:9090/metrics' });

/** A balancer run from a command line (harness/services/targets/command-target.ts). */
const CommandTargetSchema = z.strictObject({
  kind: z.literal('command'),
  /** argv; `{config}`, `{port}`, `{metricsPort}` and `{dir}` are substituted. */
  command: z.array(z.string().min(1)).min(1),
  /** A config file of the balancer's own, written as `{config}` with the same
   * placeholders substituted. Default: lbbench's YAML of the `lb` section. */
  configTemplate: z.string().min(1).optional(),
  /** Where clients connect, `host:port`. Default lb.listen. */
  listen: hostPort.optional(),
  /** Its metrics endpoint (`{port}`, `{metricsPort}` substituted). Default none (counts from the test backends). */
  metricsUrl: metricsUrl.optional(),
  /** Format of metricsUrl. Default `lbbench`. */
  metricsFormat: z.enum(TARGET_METRICS_FORMATS).default('lbbench'),
  /** Path whose proxied GET below 500 means ready. Default lb.health.active.path. */
  readyPath: z.string().startsWith('/').optional(),
});

/** A balancer that is already running. */
const AttachTargetSchema = z.strictObject({
  kind: z.literal('attach'),
  /** Its base URL. Default lb.listen. */
  url: z.string().refine(isHttpOrigin, { message: 'expected an http:// URL with host and port, e.g. http://127.0.0.1:8080' }).optional(),
  metricsUrl: metricsUrl.optional(),
  metricsFormat: z.enum(TARGET_METRICS_FORMATS).default('lbbench'),
  readyPath: z.string().startsWith('/').optional(),
});

/** A built-in target under another name or program path. */
const BuiltinTargetSchema = z.strictObject({
  kind: z.enum(['lbbench', 'nginx', 'haproxy']),
  /** Program name or path (nginx, haproxy). Default the kind's name. */
  binary: z.string().min(1).optional(),
});

export const TargetConfigSchema = z.discriminatedUnion('kind', [CommandTargetSchema, AttachTargetSchema, BuiltinTargetSchema]);
export type TargetConfig = z.output<typeof TargetConfigSchema>;
export type CommandTargetConfig = z.output<typeof CommandTargetSchema>;
export type AttachTargetConfig = z.output<typeof AttachTargetSchema>;

/** Target names: used in `--targets`, columns and file names. */
const targetName = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected letters, digits, "_", "." or "-"');

export const ConfigSchema = z.strictObject({
  lb: LbConfigSchema,
  harness: HarnessConfigSchema,
  /** Default thresholds, by scenario. Scenarios may override by `name`. */
  thresholds: ThresholdSetSchema.default({}),
  /** Named threshold profiles (e.g. `ci`) that replace defaults by `name`. */
  profiles: z.record(z.string(), ThresholdSetSchema).default({}),
  /** Balancers to benchmark besides the built-in lbbench, nginx and haproxy, by name (`--targets NAME`). */
  targets: z.record(targetName, TargetConfigSchema).default({}),
});

export type LbbenchConfig = z.output<typeof ConfigSchema>;
export type LbConfig = LbbenchConfig['lb'];
export type BackendConfig = LbConfig['backends'][number];
export type HarnessConfig = LbbenchConfig['harness'];

function isHttpOrigin(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.protocol === 'http:' && u.hostname !== '' && (u.pathname === '/' || u.pathname === '') && !u.search;
}

function normalizeOrigin(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '80'}`;
}

/** Number of workers `auto` resolves to on this machine. */
export function resolveWorkerCount(workers: LbConfig['workers'], cores: number): number {
  return workers === 'auto' ? Math.max(1, cores) : workers;
}

/** Deep-freezes a plain object tree. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

/**
 * Loads, validates and freezes a config file. Throws InputError (exit 2)
 * listing every problem with file, line, path, value and expectation.
 */
export function loadConfig(file: string): LbbenchConfig {
  return validateConfigSource(readYamlFile(file));
}

/** Same as loadConfig, from text (tests, SIGHUP reload). */
export function parseConfigText(file: string, text: string): LbbenchConfig {
  return validateConfigSource(parseYamlText(file, text));
}

/** The YAML each loaded config came from, so later checks (thresholds
 * against the scenarios' metrics) can name the file and line. */
const SOURCES = new WeakMap<LbbenchConfig, YamlSource>();

/** Validates an already-parsed YAML source. */
function validateConfigSource(source: YamlSource): LbbenchConfig {
  const config = deepFreeze(validateYaml(source, ConfigSchema));
  SOURCES.set(config, source);
  return config;
}

/** The YAML source a config was loaded from; undefined for a config built
 * in code (then messages name no line). */
export function configSource(config: LbbenchConfig): YamlSource | undefined {
  return SOURCES.get(config);
}
