/**
 * The `attach` target: a balancer that is already running (declared in
 * config with `kind: attach`, or `--attach` for the configured address).
 * Nothing is started or stopped; its processes are found by the port it
 * listens on, so their CPU and memory are still sampled.
 */
import type { LbConfig, TargetMetricsFormat } from '../../../common/config.js';
import { UsageError } from '../../../common/errors.js';
import { socketOwnersAlive } from './attach-pids.js';
import { metricsForFormat, missingForFormat } from './command-target.js';
import { lbBaseUrl, lbMetricsUrl, waitUntilProxying } from './target-helpers.js';
import type { Availability, RenderedConfig, Target, TargetHost, TargetKind, TargetMetrics } from './target.js';

/** How an attached balancer is reached. */
export interface AttachOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080`; default lb.listen. */
  url?: string;
  /** Its metrics; default lb.metrics in lbbench's names. `null`: none. */
  metricsUrl?: string | null;
  metricsFormat?: TargetMetricsFormat;
  readyPath?: string;
}

/** Something already running. */
export class AttachTarget implements Target {
  readonly kind: TargetKind = 'attach';
  readonly managed = false;
  private readonly owners = socketOwnersAlive();

  constructor(
    readonly name: string,
    private readonly options: AttachOptions = {},
  ) {}

  async available(): Promise<Availability> {
    return { ok: true };
  }

  renderConfig(): RenderedConfig | undefined {
    return undefined;
  }

  private metricsUrlOf(lb: LbConfig): string | undefined {
    return this.options.metricsUrl === null ? undefined : (this.options.metricsUrl ?? lbMetricsUrl(lb));
  }

  async start(lb: LbConfig, host: TargetHost): Promise<void> {
    const base = this.url(lb);
    if (new URL(base).port === '0' || this.metricsUrlOf(lb)?.includes(':0/')) {
      throw new UsageError('an attached balancer needs fixed ports in the config (lb.listen.port and lb.metrics.port are 0)');
    }
    const metrics = this.metricsUrlOf(lb);
    await waitUntilProxying(lb, undefined, host, metrics, this.options.readyPath ?? lb.health.active.path, base).catch((err: Error) => {
      throw Object.assign(err, { message: `${err.message} (attached target ${this.name}: is it running?)` });
    });
    const metricsPort = metrics === undefined ? NaN : Number(new URL(metrics).port);
    await this.owners.find(Number(new URL(base).port), ...(Number.isInteger(metricsPort) && metricsPort > 0 ? [metricsPort] : []));
  }

  url(lb: LbConfig): string {
    return this.options.url?.replace(/\/$/, '') ?? lbBaseUrl(lb);
  }

  metrics(lb: LbConfig, host: TargetHost): TargetMetrics {
    return metricsForFormat(this.metricsUrlOf(lb), this.options.metricsFormat ?? 'lbbench', host);
  }

  pids(): number[] {
    return this.owners.pids();
  }

  missingMetrics(): Readonly<Record<string, string>> {
    return missingForFormat(this.options.metricsUrl === null ? undefined : (this.options.metricsFormat ?? 'lbbench'), `attached target ${this.name}`);
  }

  notes(): string[] {
    return [`attached to a running balancer at ${this.options.url ?? 'the configured lb.listen address'}; not started or restarted by lbbench`];
  }

  async stop(): Promise<void> {}
}
