/**
 * The `command` target: any balancer, declared in config (`targets:` with
 * `kind: command`). Its command line gets `{config}` (a file in the
 * target's private directory: the user's `configTemplate` with the same
 * placeholders substituted, or else lbbench's own YAML of the effective `lb`
 * section), `{port}` (listen port), `{metricsPort}` and `{dir}` (the
 * private directory) substituted, and runs in the foreground under the
 * foreground guard. Metrics: its `metricsUrl` in lbbench's names, HAProxy's
 * exporter format or nginx stub_status (`metricsFormat`), or, without a
 * metrics URL, only what the test backends count.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { CommandTargetConfig, LbConfig, TargetMetricsFormat } from '../../../common/config.js';
import { InvalidRunError } from '../../../common/errors.js';
import { MetricName } from '../../../common/metric-names.js';
import type { ManagedChild } from '../managed-child.js';
import { BackendCounters } from './backend-counters.js';
import { ForeignTarget, locateProgram } from './foreign-target.js';
import { HaproxyExporterAdapter, HAPROXY_MISSING } from './haproxy-target.js';
import { NGINX_MISSING, StubStatusAdapter } from './nginx-target.js';
import { lbBaseUrl, waitUntilProxying } from './target-helpers.js';
import type { Availability, RenderedConfig, TargetHost, TargetMetrics } from './target.js';
import { ErrorCode } from '../../../common/error-codes.js';
import { itemAt, valueAt } from '../../../common/checked.js';

/** Substitutes `{config}`, `{port}`, `{metricsPort}`, `{dir}` in `text`. */
export function substitutePlaceholders(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\{(config|port|metricsPort|dir)\}/g, (whole, key: string) => values[key] ?? whole);
}

/** What a balancer of a metrics format cannot give. */
export function missingForFormat(format: TargetMetricsFormat | undefined, what: string): Readonly<Record<string, string>> {
  if (format === 'lbbench') return {};
  if (format === 'haproxy') return HAPROXY_MISSING;
  if (format === 'stub_status') return NGINX_MISSING;
  const none = `${what} declares no metricsUrl`;
  return {
    [MetricName.activeConnections]: none,
    [MetricName.backendHealth]: none,
    [MetricName.workerRestarts]: none,
  };
}

/** The metrics of a target with an optional URL of a known format. */
export function metricsForFormat(url: string | undefined, format: TargetMetricsFormat, host: TargetHost): TargetMetrics {
  if (url === undefined) return { adapter: new BackendCounters(() => host.backends()) };
  if (format === 'lbbench') return { url };
  if (format === 'haproxy') return { adapter: new HaproxyExporterAdapter(url, new BackendCounters(() => host.backends(), { requests: false, bytes: false })) };
  return { adapter: new StubStatusAdapter(url, new BackendCounters(() => host.backends())) };
}

/** A user's balancer run from a command line. */
export class CommandTarget extends ForeignTarget {
  constructor(
    name: string,
    private readonly decl: CommandTargetConfig,
  ) {
    super(name, 'command', itemAt(decl.command, 0, 'decl.command[0]'));
  }

  async available(): Promise<Availability> {
    const template = this.decl.configTemplate;
    if (template !== undefined && !existsSync(template)) {
      return {
        ok: false,
        reason: `the configTemplate ${template} of target "${this.name}" does not exist`,
        hint: `fix targets.${this.name}.configTemplate in the config (relative paths are from the working directory)`,
      };
    }
    if (locateProgram(this.binary)) return { ok: true };
    return {
      ok: false,
      reason: `${this.binary} (the command of target "${this.name}") is not on PATH`,
      hint: 'install it, or fix targets.' + this.name + '.command in the config',
    };
  }

  /** The listen address clients use: the declared one, else lb.listen. */
  private listenOf(lb: LbConfig): LbConfig {
    if (!this.decl.listen) return lb;
    const [host, port] = splitHostPort(this.decl.listen);
    return { ...lb, listen: { host, port } };
  }

  private values(lb: LbConfig, dir: string): Record<string, string> {
    const l = this.listenOf(lb);
    return { config: path.join(dir, 'target.conf'), port: String(l.listen.port), metricsPort: String(lb.metrics.port), dir };
  }

  renderConfig(lb: LbConfig, dir: string): RenderedConfig {
    const values = this.values(lb, dir);
    let text: string;
    if (this.decl.configTemplate) {
      try {
        text = substitutePlaceholders(readFileSync(this.decl.configTemplate, 'utf8'), values);
      } catch (err) {
        throw new InvalidRunError(
          ErrorCode.SERVICE_START,
          `target ${this.name}: cannot read configTemplate ${this.decl.configTemplate}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    } else {
      text = `# Effective balancer config written by the lbbench harness for target ${this.name}.\n${stringify({ lb })}`;
    }
    return { file: valueAt(values, 'config', 'values.config'), text };
  }

  protected args(lb: LbConfig, _file: string, dir: string): string[] {
    const values = this.values(lb, dir);
    return this.decl.command.slice(1).map((a) => substitutePlaceholders(a, values));
  }

  /** The declared metrics URL with `{port}` and `{metricsPort}` substituted. */
  private metricsUrlOf(lb: LbConfig, dir: string): string | undefined {
    return this.decl.metricsUrl === undefined ? undefined : substitutePlaceholders(this.decl.metricsUrl, this.values(lb, dir));
  }

  protected async waitReady(lb: LbConfig, child: ManagedChild, host: TargetHost): Promise<void> {
    const metrics = this.metricsUrlOf(lb, host.dir);
    await waitUntilProxying(lb, child, host, metrics, this.decl.readyPath ?? lb.health.active.path, lbBaseUrl(this.listenOf(lb)));
  }

  override url(lb: LbConfig): string {
    return lbBaseUrl(this.listenOf(lb));
  }

  metrics(lb: LbConfig, host: TargetHost): TargetMetrics {
    return metricsForFormat(this.metricsUrlOf(lb, host.dir), this.decl.metricsFormat, host);
  }

  missingMetrics(): Readonly<Record<string, string>> {
    return missingForFormat(this.decl.metricsUrl === undefined ? undefined : this.decl.metricsFormat, `target ${this.name}`);
  }

  notes(): string[] {
    const m = this.decl.metricsUrl
      ? `metrics from ${this.decl.metricsUrl} (${this.decl.metricsFormat} format)`
      : "no metrics URL: per-backend counts, upstream connections and bytes from the test backends' own counters";
    return [`command: ${this.decl.command.join(' ')}`, m];
  }
}

/** `host:port` (IPv6 in brackets) into its parts. */
export function splitHostPort(text: string): [string, number] {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text);
  if (!m) throw new InvalidRunError(ErrorCode.SERVICE_START, `expected host:port, got "${text}"`);
  return [itemAt(m, 1, 'm[1]'), Number(m[2])];
}
