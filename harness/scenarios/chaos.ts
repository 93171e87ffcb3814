/**
 * chaos: two steady open-loop loads at once (GETs and POSTs with a body)
 * while a schedule kills and restarts backends, injects the test backend's
 * faults through `/control` (a latency spike, an error rate, responses cut
 * mid-body, a hang) and a churner opens, aborts and closes client
 * connections. Judged on what a client must never see:
 *
 * - `failed_idempotent_requests`: GETs that failed beyond the ones the
 *   backend itself cut mid-body (no proxy can take back a forwarded head;
 *   the backend counts each cut by method in `/stats`);
 * - `failures_before_body`: failures where nothing had reached a backend
 *   (the balancer's `connect`/`no_backend` errors): a POST may fail only
 *   once its body was sent;
 * - `failures_uncounted`: client-side failures (GET and POST) that the
 *   balancer's `lb_errors_total` does not account for;
 * - `fd_slope_per_min`, `rss_slope_mb_per_min`: open files and RSS of the
 *   balancer's processes, Theil–Sen slope after the first tenth (robust to
 *   the bumps each fault makes; a leak still shows);
 * - `worker_restarts`.
 *
 * The schedule is in fractions of the run, so the quick profile does the
 * same steps in 25 s that the full one does in 10 minutes. Every fault is
 * off again at 82% of the run, and a killed backend is always restarted.
 */
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { z } from 'zod';
import { itemAt, valueAt } from '../../common/checked.js';
import { ErrorCode } from '../../common/error-codes.js';
import { InvalidRunError } from '../../common/errors.js';
import { MetricName } from '../../common/metric-names.js';
import type { LoadResult } from '../engines/engine.js';
import type { PromSnapshot, ReportTable, ScenarioContext, ScenarioOutcome } from '../result/scenario-api.js';
import { readProcStat } from '../sampling/proc-stats.js';
import { sumSamples } from '../sampling/prom-text.js';
import { buildTimeline, compactTimeline, formatUsAsMs, round, theilSenSlope, type TimelineEvent, type TimelineRow } from './analysis.js';
import { checkLoad, connectionsSetting, durationSetting, fractionSetting, lbUrl, pathSetting, rateSetting, sleep, type ScenarioKind } from './shared.js';

export const chaosSettings = z.strictObject({
  /** Length of the measured window, ms. Default 600000 (10 minutes). */
  durationMs: durationSetting.default(600_000),
  /** GET load, requests/s (open loop). Default 300. */
  getRate: rateSetting.default(300),
  /** POST load, requests/s (open loop). Default 100. */
  postRate: rateSetting.default(100),
  /** Connections of the GET load: enough that requests held by a hanging
   * backend until it is marked down do not stall the rest. Default 120. */
  getConnections: connectionsSetting.default(120),
  /** Connections of the POST load. Default 50. */
  postConnections: connectionsSetting.default(50),
  /** Path of both loads. Default `/echo` (POST echoes the body). */
  path: pathSetting.default('/echo'),
  /** POST body size, bytes. Default 1024. */
  postBodyBytes: z.number().int().min(1).max(1_048_576).default(1024),
  /** A request slower than this is a client timeout, ms; above the balancer's deadline. Default 20000. */
  requestTimeoutMs: durationSetting.default(20_000),
  /** Client connections the churner opens per second (each sends a request and closes, aborts mid-request, or closes idle). Default 20. */
  churnPerSecond: z.number().min(0).max(1000).default(20),
  /** Latency of the spike, ms. Default 300. */
  latencySpikeMs: z.number().int().min(1).max(60_000).default(300),
  /** Error rate injected, 0..1. Default 0.2. */
  errorRate: fractionSetting.default(0.2),
  /** Share of responses cut mid-body, 0..1. Default 0.05. */
  cutRate: fractionSetting.default(0.05),
  /** Include the hang (a backend that never answers; needs the balancer's per-try timeout). Default true. */
  hang: z.boolean().default(true),
  /** Period of the fd and RSS samples and of the timeline rows, ms. Default 1000. */
  sampleIntervalMs: z.number().int().min(100).max(60_000).default(1000),
  /** Rows kept around each event and error in the terminal timeline. Default 2. */
  timelineContextRows: z.number().int().min(0).default(2),
});
export type ChaosSettings = z.output<typeof chaosSettings>;

/** One scheduled step: at `at` (fraction of the window) do `what` to backend number `backend`. */
interface Step {
  at: number;
  backend: number;
  what: 'kill' | 'restart' | { faults: Record<string, number | boolean>; label: string };
}

function schedule(s: ChaosSettings): Step[] {
  const f = (faults: Record<string, number | boolean>, label: string) => ({ faults, label });
  const steps: Step[] = [
    { at: 0.05, backend: 1, what: 'kill' },
    { at: 0.15, backend: 1, what: 'restart' },
    { at: 0.2, backend: 0, what: f({ latencyMs: s.latencySpikeMs }, `latency ${s.latencySpikeMs} ms`) },
    { at: 0.28, backend: 0, what: f({ latencyMs: 0 }, 'latency off') },
    { at: 0.32, backend: 2, what: f({ errorRate: s.errorRate }, `error rate ${s.errorRate}`) },
    { at: 0.4, backend: 2, what: f({ errorRate: 0 }, 'error rate off') },
    { at: 0.45, backend: 0, what: f({ closeRate: s.cutRate }, `cut ${s.cutRate} mid-response`) },
    { at: 0.55, backend: 0, what: f({ closeRate: 0 }, 'cuts off') },
  ];
  if (s.hang) steps.push({ at: 0.6, backend: 2, what: f({ hang: true }, 'hang') }, { at: 0.68, backend: 2, what: f({ hang: false }, 'hang off') });
  steps.push({ at: 0.72, backend: 2, what: 'kill' }, { at: 0.82, backend: 2, what: 'restart' });
  return steps;
}

/** The part of a backend's `/stats` used here. */
interface BackendStatsView {
  faultsInjected?: { error?: number; close?: number };
  cutsByMethod?: Record<string, number>;
}

async function backendStats(url: string): Promise<BackendStatsView | undefined> {
  try {
    const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as BackendStatsView;
  } catch {
    return undefined;
  }
}

async function setFaults(url: string, faults: Record<string, number | boolean>): Promise<void> {
  const res = await fetch(`${url}/control`, {
    method: 'POST',
    body: JSON.stringify(faults),
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new InvalidRunError(ErrorCode.FAULT_CONTROL, `POST ${url}/control ${JSON.stringify(faults)} answered ${res.status}`);
  await res.arrayBuffer();
}

/** Cut and error counts read from backends, added up over their lives (a kill restarts the counters). */
class FaultLedger {
  private readonly last = new Map<string, BackendStatsView>();
  cutsGet = 0;
  cutsPost = 0;
  errors = 0;
  async read(name: string, url: string): Promise<void> {
    const now = await backendStats(url);
    if (!now) return;
    const before = this.last.get(name);
    this.cutsGet += (now.cutsByMethod?.['GET'] ?? 0) - (before?.cutsByMethod?.['GET'] ?? 0);
    this.cutsPost += (now.cutsByMethod?.['POST'] ?? 0) - (before?.cutsByMethod?.['POST'] ?? 0);
    this.errors += (now.faultsInjected?.error ?? 0) - (before?.faultsInjected?.error ?? 0);
    this.last.set(name, now);
  }
  /** The backend restarted: its counters begin at 0. */
  restarted(name: string): void {
    this.last.delete(name);
  }
}

/** Failures a client saw in one load: transport errors and any status >= 400 but the backend's own 500s. */
function clientFailures(r: LoadResult): number {
  let n = 0;
  for (const [kind, count] of Object.entries(r.errors)) if (kind !== 'non2xx') n += count;
  for (const [code, count] of Object.entries(r.statusCounts)) if (Number(code) >= 400 && code !== '500') n += count;
  return n;
}

/** Errors of `lb_errors_total` by kind. */
function errorsByKind(snap: PromSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of snap.samples) if (s.name === MetricName.errors) out[s.labels['kind'] ?? ''] = (out[s.labels['kind'] ?? ''] ?? 0) + s.value;
  return out;
}

/** Kinds that are the client's doing (the churner's), not a failed exchange with a backend. */
const CLIENT_KINDS = new Set(['client_abort', 'bad_request', 'headers_too_large', 'body_too_large', 'timeout_client', 'too_many_connections']);

/** Open file descriptors of `pid` (0 when it is gone). */
function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

interface ResourceSample {
  atMs: number;
  fds: number;
  rssBytes: number;
}

/** The churner: `perSecond` short-lived client connections, in three kinds, until stopped. */
function startChurner(ctx: ScenarioContext, perSecond: number): { stop(): Promise<number> } {
  const url = new URL(lbUrl(ctx, '/health'));
  let opened = 0;
  let stopped = false;
  const open = new Set<net.Socket>();
  const one = (kind: number) => {
    const s = net.connect(Number(url.port), url.hostname);
    open.add(s);
    opened++;
    s.on('error', () => undefined);
    s.on('close', () => open.delete(s));
    s.setTimeout(5000, () => s.destroy());
    s.on('connect', () => {
      if (kind === 0) s.end(`GET /health HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
      else if (kind === 1) {
        // A client that goes away mid-request.
        s.write(`POST /echo HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: 100\r\n\r\npartial`);
        setTimeout(() => s.destroy(), 20);
      } else setTimeout(() => s.destroy(), 50);
    });
    s.on('data', () => undefined);
  };
  let i = 0;
  const timer = perSecond > 0 ? setInterval(() => !stopped && one(i++ % 3), 1000 / perSecond) : undefined;
  timer?.unref();
  return {
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      for (const s of open) s.destroy();
      await sleep(20);
      return opened;
    },
  };
}

async function runChaos(ctx: ScenarioContext, s: ChaosSettings): Promise<ScenarioOutcome> {
  const names = ctx.config.lb.backends.map((b) => b.name).filter((n) => ctx.services.backends.has(n));
  if (names.length < 3) return { metrics: {}, tables: [], invalidReasons: ['chaos needs at least 3 running backends in lb.backends'], details: {} };
  const nameOf = (i: number) => itemAt(names, i, 'chaos backend');
  const urlOf = (i: number) => valueAt(Object.fromEntries(ctx.services.backends), nameOf(i), 'chaos backend URL');
  const ledger = new FaultLedger();
  for (const [i, n] of names.entries()) {
    await setFaults(urlOf(i), { latencyMs: 0, errorRate: 0, closeRate: 0, hang: false });
    await ledger.read(n, urlOf(i));
  }
  const before = await ctx.scrape();
  const events: TimelineEvent[] = [];
  const resources: ResourceSample[] = [];
  const sampleResources = () => {
    let fds = 0;
    let rss = 0;
    for (const pid of ctx.services.balancerPids()) {
      fds += openFds(pid);
      rss += readProcStat(pid)?.rssBytes ?? 0;
    }
    resources.push({ atMs: Date.now(), fds, rssBytes: rss });
  };
  sampleResources();
  const resourceTimer = setInterval(sampleResources, s.sampleIntervalMs);
  resourceTimer.unref();

  ctx.log(
    `Chaos: GET ${s.getRate} req/s + POST ${s.postRate} req/s (${s.postBodyBytes} B) open loop for ${Math.round(s.durationMs / 1000)} s, churn ${s.churnPerSecond} conn/s`,
  );
  let firstBucket: () => void = () => undefined;
  const started = new Promise<void>((r) => (firstBucket = r));
  const common = { durationMs: s.durationMs, warmupMs: 0, seriesIntervalMs: s.sampleIntervalMs, timeoutMs: s.requestTimeoutMs };
  const getLoad = ctx.load('chaos GET', 'open-loop', {
    ...common,
    url: lbUrl(ctx, s.path),
    connections: s.getConnections,
    rate: s.getRate,
    onBucket: () => firstBucket(),
  });
  const postLoad = ctx.load('chaos POST', 'open-loop', {
    ...common,
    url: lbUrl(ctx, s.path),
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: 'x'.repeat(s.postBodyBytes),
    connections: s.postConnections,
    rate: s.postRate,
  });
  let settled = false;
  void Promise.allSettled([getLoad, postLoad]).then(() => (settled = true));
  const churner = startChurner(ctx, s.churnPerSecond);
  const killed = new Set<number>();
  const faulted = new Set<number>();
  let churned = 0;
  try {
    await Promise.race([
      started,
      getLoad.then(
        () => undefined,
        () => undefined,
      ),
    ]);
    if (settled) throw new InvalidRunError(ErrorCode.LOAD_ENDED, 'the GET load ended before its measured window started');
    const windowStartMs = Date.now() - s.sampleIntervalMs;
    for (const step of schedule(s)) {
      await sleep(Math.max(0, windowStartMs + step.at * s.durationMs - Date.now()), ctx.signal);
      const name = nameOf(step.backend);
      const url = urlOf(step.backend);
      if (step.what === 'kill') {
        await ledger.read(name, url);
        events.push({ atMs: Date.now(), label: `kill ${name}` });
        ctx.log(`Killing ${name}`);
        killed.add(step.backend);
        await ctx.services.killBackend(name);
      } else if (step.what === 'restart') {
        events.push({ atMs: Date.now(), label: `restart ${name}` });
        ctx.log(`Restarting ${name}`);
        await ctx.services.restartBackend(name);
        killed.delete(step.backend);
        ledger.restarted(name);
        await ledger.read(name, url);
      } else {
        events.push({ atMs: Date.now(), label: `${name}: ${step.what.label}` });
        ctx.log(`${name}: ${step.what.label}`);
        faulted.add(step.backend);
        await setFaults(url, step.what.faults);
      }
    }
  } finally {
    // Never leave a dead or faulty backend to the next scenario.
    try {
      for (const i of killed) await ctx.services.restartBackend(nameOf(i));
      for (const i of faulted) await setFaults(urlOf(i), { latencyMs: 0, errorRate: 0, closeRate: 0, hang: false }).catch(() => undefined);
    } finally {
      await Promise.allSettled([getLoad, postLoad]);
      churned = await churner.stop();
      clearInterval(resourceTimer);
    }
  }
  const get = await getLoad;
  const post = await postLoad;
  sampleResources();
  // Let the balancer finish what it still holds, so its counters are final.
  const settleUntil = Date.now() + 25_000;
  let after = await ctx.scrape();
  while (Date.now() < settleUntil && sumSamples(after.samples, MetricName.backendActiveRequests) > 0) {
    await sleep(250, ctx.signal);
    after = await ctx.scrape();
  }
  for (const [i, n] of names.entries()) await ledger.read(n, urlOf(i));

  const e0 = errorsByKind(before);
  const e1 = errorsByKind(after);
  const errorDelta: Record<string, number> = {};
  for (const k of new Set([...Object.keys(e0), ...Object.keys(e1)])) {
    const d = (e1[k] ?? 0) - (e0[k] ?? 0);
    if (d) errorDelta[k] = d;
  }
  const counted = Object.entries(errorDelta).reduce((n, [k, v]) => (CLIENT_KINDS.has(k) ? n : n + v), 0);
  const beforeBody = Object.entries(errorDelta).reduce((n, [k, v]) => (/connect|no_backend|queue/.test(k) ? n + v : n), 0);
  const getFailures = clientFailures(get);
  const postFailures = clientFailures(post);
  const restarts = sumSamples(after.samples, MetricName.workerRestarts) - sumSamples(before.samples, MetricName.workerRestarts);

  const startMs = get.startedAtMs;
  const tail = resources.filter((r) => r.atMs >= startMs + s.durationMs * 0.1);
  const fdSlope = theilSenSlope(tail.map((r) => ({ x: r.atMs, y: r.fds }))) * 60_000;
  const rssSlope = (theilSenSlope(tail.map((r) => ({ x: r.atMs, y: r.rssBytes }))) * 60_000) / (1024 * 1024);

  const metrics: Record<string, number> = {
    get_requests: get.requests,
    post_requests: post.requests,
    get_failures: getFailures,
    post_failures: postFailures,
    get_cut_by_backend: ledger.cutsGet,
    post_cut_by_backend: ledger.cutsPost,
    failed_idempotent_requests: Math.max(0, getFailures - ledger.cutsGet),
    failures_before_body: beforeBody,
    failures_counted_by_balancer: counted,
    failures_uncounted: Math.max(0, getFailures + postFailures - counted),
    backend_errors_forwarded: (get.statusCounts['500'] ?? 0) + (post.statusCounts['500'] ?? 0),
    backend_errors_injected: ledger.errors,
    worker_restarts: restarts,
    fd_slope_per_min: round(fdSlope, 2),
    rss_slope_mb_per_min: round(rssSlope, 2),
    fds_max: Math.max(...resources.map((r) => r.fds)),
    rss_max_mb: round(Math.max(...resources.map((r) => r.rssBytes)) / (1024 * 1024), 1),
    churned_connections: churned,
    get_p99_ms: round(get.latency.p99Us / 1000, 2),
    post_p99_ms: round(post.latency.p99Us / 1000, 2),
    get_dropped: get.schedule?.dropped ?? 0,
    post_dropped: post.schedule?.dropped ?? 0,
  };
  ctx.log(
    `GET ${get.requests} (${getFailures} failed, ${ledger.cutsGet} cut by the backend), POST ${post.requests} (${postFailures} failed, ${ledger.cutsPost} cut); ` +
      `balancer counted ${counted}; fd slope ${metrics['fd_slope_per_min']}/min, RSS slope ${metrics['rss_slope_mb_per_min']} MB/min; worker restarts ${restarts}`,
  );

  const timeline = mergeTimelines(get, post, events, resources);
  const invalidReasons = [
    ...checkLoad('GET', get, { connections: s.getConnections, requireUnsaturatedGenerator: false }),
    ...checkLoad('POST', post, { connections: s.postConnections, requireUnsaturatedGenerator: false }),
  ];
  return {
    metrics,
    tables: [timelineTable(timeline, s), failuresTable(get, post, errorDelta)],
    invalidReasons,
    details: {
      events: events.map((e) => ({ ...e, tMs: e.atMs - startMs })),
      timeline,
      getErrors: get.errors,
      getStatus: get.statusCounts,
      postErrors: post.errors,
      postStatus: post.statusCounts,
      balancerErrorsByKind: errorDelta,
      resources: resources.map((r) => ({ tMs: r.atMs - startMs, fds: r.fds, rssBytes: r.rssBytes })),
    },
  };
}

interface ChaosRow {
  tMs: number;
  getRequests: number;
  getErrors: number;
  postRequests: number;
  postErrors: number;
  p99Us: number;
  fds: number;
  rssMb: number;
  events: string[];
}

function mergeTimelines(get: LoadResult, post: LoadResult, events: TimelineEvent[], resources: ResourceSample[]): ChaosRow[] {
  const g: TimelineRow[] = buildTimeline(get.series, get.startedAtMs, get.seriesIntervalMs, events);
  const p = post.series;
  return g.map((row, i) => {
    const r = [...resources].reverse().find((x) => x.atMs <= get.startedAtMs + row.tMs + get.seriesIntervalMs);
    return {
      tMs: row.tMs,
      getRequests: row.requests,
      getErrors: row.errors,
      postRequests: p[i]?.requests ?? 0,
      postErrors: p[i]?.errors ?? 0,
      p99Us: row.p99Us,
      fds: r?.fds ?? 0,
      rssMb: round((r?.rssBytes ?? 0) / (1024 * 1024), 1),
      events: row.events,
    };
  });
}

function timelineTable(rows: ChaosRow[], s: ChaosSettings): ReportTable {
  const asTimeline = rows.map((r) => ({ tMs: r.tMs, requests: r.getRequests, errors: r.getErrors + r.postErrors, p99Us: r.p99Us, events: r.events }));
  const compact = compactTimeline(asTimeline, s.timelineContextRows);
  const byT = new Map(rows.map((r) => [r.tMs, r]));
  return {
    title: `Chaos timeline per ${s.sampleIntervalMs} ms (rows near events and errors; full series in the JSON)`,
    columns: ['T(s)', 'GET', 'GET ERR', 'POST', 'POST ERR', 'GET P99(ms)', 'FDS', 'RSS(MB)', 'EVENT'],
    rows: compact.map((c) => {
      if (c === 'gap') return ['...', '', '', '', '', '', '', '', ''];
      const r = byT.get(c.tMs)!;
      return [
        (r.tMs / 1000).toFixed(1),
        r.getRequests,
        r.getErrors,
        r.postRequests,
        r.postErrors,
        r.getRequests ? formatUsAsMs(r.p99Us) : '-',
        r.fds,
        r.rssMb,
        r.events.join('; '),
      ];
    }),
  };
}

function failuresTable(get: LoadResult, post: LoadResult, lbErrors: Record<string, number>): ReportTable {
  const kinds = (r: LoadResult) =>
    [...Object.entries(r.errors).filter(([k]) => k !== 'non2xx'), ...Object.entries(r.statusCounts).filter(([c]) => Number(c) >= 400)]
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ') || 'none';
  return {
    title: 'Failures by kind (client side: transport errors and statuses; 500 is the backend’s injected error, forwarded)',
    columns: ['SOURCE', 'BY KIND'],
    rows: [
      ['GET (client)', `${kinds(get)}; sends dropped (no free connection): ${get.schedule?.dropped ?? 0}`],
      ['POST (client)', `${kinds(post)}; sends dropped: ${post.schedule?.dropped ?? 0}`],
      [
        'balancer lb_errors_total',
        Object.entries(lbErrors)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') || 'none',
      ],
    ],
  };
}

export const chaosKind: ScenarioKind<ChaosSettings> = {
  settingsSchema: chaosSettings,
  run: runChaos,
  metrics: [
    'get_requests',
    'post_requests',
    'get_failures',
    'post_failures',
    'get_cut_by_backend',
    'post_cut_by_backend',
    'failed_idempotent_requests',
    'failures_before_body',
    'failures_counted_by_balancer',
    'failures_uncounted',
    'backend_errors_forwarded',
    'backend_errors_injected',
    'worker_restarts',
    'fd_slope_per_min',
    'rss_slope_mb_per_min',
    'fds_max',
    'rss_max_mb',
    'churned_connections',
    'get_p99_ms',
    'post_p99_ms',
    'get_dropped',
    'post_dropped',
  ],
};
