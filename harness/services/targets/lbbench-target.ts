/**
 * The `lbbench` target: our own balancer, `lbbench lb --config FILE` with
 * the effective `lb` section written to the target's temp directory. It
 * speaks lbbench's metric names itself.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { LbConfig } from '../../../common/config.js';
import { PACKAGE_VERSION } from '../../../common/paths.js';
import type { ManagedChild } from '../managed-child.js';
import { processTree } from '../../sampling/proc-stats.js';
import { lbBaseUrl, lbMetricsUrl, waitUntilProxying } from './target-helpers.js';
import { STOP_GRACE_MS, type Availability, type RenderedConfig, type Target, type TargetHost, type TargetKind, type TargetMetrics } from './target.js';

/** Our balancer as a child process. */
export class LbbenchTarget implements Target {
  readonly kind: TargetKind = 'lbbench';
  readonly managed = true;
  private child: ManagedChild | undefined;

  constructor(readonly name = 'lbbench') {}

  async available(): Promise<Availability> {
    return { ok: true, version: `lbbench ${PACKAGE_VERSION}` };
  }

  renderConfig(lb: LbConfig, dir: string, harness?: unknown): RenderedConfig {
    const doc = harness === undefined ? { lb } : { lb, harness };
    return { file: path.join(dir, 'lb-config.yaml'), text: `# Effective balancer config written by the lbbench harness.\n${stringify(doc)}` };
  }

  async start(lb: LbConfig, host: TargetHost): Promise<void> {
    const { file, text } = this.renderConfig(lb, host.dir, host.harness);
    writeFileSync(file, text);
    this.child = host.spawn(['lb', '--config', file]);
    await waitUntilProxying(lb, this.child, host, lbMetricsUrl(lb));
  }

  url(lb: LbConfig): string {
    return lbBaseUrl(lb);
  }

  metrics(lb: LbConfig): TargetMetrics {
    return { url: lbMetricsUrl(lb) };
  }

  pids(): number[] {
    return this.child?.alive ? processTree(this.child.pid) : [];
  }

  missingMetrics(): Record<string, string> {
    return {};
  }

  notes(): string[] {
    return [];
  }

  async stop(): Promise<void> {
    await this.child?.terminate('SIGTERM', STOP_GRACE_MS);
  }
}
