/**
 * The `nginx` target: nginx in the foreground from a rendered config
 * (harness/services/targets/nginx-config.ts), metrics from stub_status plus the test
 * backends' own counters.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { LbConfig } from '../../../common/config.js';
import { MetricName } from '../../../common/metric-names.js';
import type { ManagedChild } from '../managed-child.js';
import { connectHost } from '../ports.js';
import type { PromSample } from '../../result/scenario-api.js';
import { BackendCounters } from './backend-counters.js';
import { INSTALL_HINT, ForeignTarget, locateProgram, programOutput } from './foreign-target.js';
import { fetchText, type MetricsAdapter } from './metrics-bridge.js';
import { NGINX_STUB_STATUS_PATH, nginxNotes, renderNginxConfig } from './nginx-config.js';
import { waitUntilProxying } from './target-helpers.js';
import type { Availability, RenderedConfig, TargetHost, TargetMetrics } from './target.js';

/** Why nginx open source cannot give a metric. */
export const NGINX_MISSING: Readonly<Record<string, string>> = {
  [MetricName.backendHealth]: 'nginx open source has no health gauge (passive max_fails only)',
  [MetricName.workerRestarts]: 'nginx does not expose worker restarts',
};

/** `Active connections: N` of a stub_status page; undefined when absent. */
export function parseStubStatus(text: string): { active: number; accepts: number; handled: number; requests: number } | undefined {
  const active = /Active connections:\s*(\d+)/.exec(text);
  const counts = /\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n/.exec(text);
  if (!active) return undefined;
  return {
    active: Number(active[1]),
    accepts: Number(counts?.[1] ?? 0),
    handled: Number(counts?.[2] ?? 0),
    requests: Number(counts?.[3] ?? 0),
  };
}

/** lbbench metrics from nginx's stub_status and the backends' counters. */
export class StubStatusAdapter implements MetricsAdapter {
  constructor(
    private readonly stubStatusUrl: string,
    private readonly counters: BackendCounters,
  ) {}

  async collect(signal: AbortSignal): Promise<PromSample[]> {
    const [text, counted] = await Promise.all([fetchText(this.stubStatusUrl, signal), this.counters.collect(signal)]);
    const status = parseStubStatus(text);
    if (!status) throw new Error(`${this.stubStatusUrl} is not a stub_status page`);
    // Our own scrape's connection is one of the active ones.
    return [{ name: MetricName.activeConnections, labels: {}, value: Math.max(0, status.active - 1) }, ...counted];
  }
}

/** The stub_status URL of an `lb` section. */
export function stubStatusUrl(lb: LbConfig): string {
  return `http://${connectHost(lb.metrics.host)}:${lb.metrics.port}${NGINX_STUB_STATUS_PATH}`;
}

/** nginx as a target. */
export class NginxTarget extends ForeignTarget {
  constructor(name = 'nginx', binary = 'nginx') {
    super(name, 'nginx', binary);
  }

  async available(): Promise<Availability> {
    if (!locateProgram(this.binary)) return { ok: false, reason: `${this.binary} is not on PATH`, hint: INSTALL_HINT };
    const out = await programOutput(locateProgram(this.binary)!, ['-v']);
    const version = /nginx\/[\w.]+/.exec(out ?? '')?.[0];
    return version ? { ok: true, version } : { ok: true };
  }

  renderConfig(lb: LbConfig, dir: string): RenderedConfig {
    return { file: path.join(dir, 'nginx.conf'), text: renderNginxConfig(lb, dir) };
  }

  protected override prepare(dir: string): void {
    // -p DIR also makes nginx want DIR/logs for its compiled-in paths.
    for (const sub of ['logs', 'client_body_temp', 'proxy_temp', 'fastcgi_temp', 'uwsgi_temp', 'scgi_temp'])
      mkdirSync(path.join(dir, sub), { recursive: true });
  }

  protected args(_lb: LbConfig, file: string, dir: string): string[] {
    return ['-p', dir, '-e', 'stderr', '-c', file, '-g', 'daemon off;'];
  }

  protected async waitReady(lb: LbConfig, child: ManagedChild, host: TargetHost): Promise<void> {
    await waitUntilProxying(lb, child, host, stubStatusUrl(lb));
  }

  metrics(lb: LbConfig, host: TargetHost): TargetMetrics {
    return { adapter: new StubStatusAdapter(stubStatusUrl(lb), new BackendCounters(() => host.backends())) };
  }

  missingMetrics(): Readonly<Record<string, string>> {
    return NGINX_MISSING;
  }

  notes(lb: LbConfig): string[] {
    return nginxNotes(lb);
  }
}
