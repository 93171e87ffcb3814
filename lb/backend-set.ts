/**
 * One generation of backends, as the proxy of one process sees it: pools,
 * counters, the balancer and the local health copy. Replaced as a whole on
 * reload, so an exchange keeps the set it started with.
 */
import type { LbConfig } from '../common/config.js';
import type { Balancer, PickContext } from './balancers/balancer.js';
import type { BackendCounters } from './metrics/worker-counters.js';
import type { UpstreamPool } from './upstream-pool.js';

/** One generation of backends (replaced as a whole on reload). */
export class BackendSet {
  readonly size: number;
  readonly names: readonly string[];
  /** Local health copy, 1 up, 0 down, per backend index. */
  readonly up: Uint8Array;
  readonly inFlight: Int32Array;
  /** Scratch eligibility mask for retries; pick() is synchronous, so one suffices. */
  readonly eligible: Uint8Array;
  readonly pickCtx: PickContext;
  readonly hashHeader: string | undefined;
  /** Close upstream connections after each response (`pool.keepAlive: false`). */
  readonly closeAfterEachRequest: boolean;
  readonly maxRetries: number;
  /** Retry budget (`retries.budgetPercent`, `retries.minConcurrency`). */
  readonly budgetPercent: number;
  readonly minConcurrency: number;
  /** Total deadline per request until the response head (`timeouts.requestMs`), ms. */
  readonly requestMs: number;
  /** Per-try timeout (`timeouts.headersMs`), ms. */
  readonly tryMs: number;
  readonly passive: boolean;

  constructor(
    readonly generation: number,
    readonly lb: LbConfig,
    readonly pools: readonly UpstreamPool[],
    readonly counters: readonly BackendCounters[],
    readonly balancer: Balancer,
  ) {
    this.size = lb.backends.length;
    this.names = lb.backends.map((b) => b.name);
    this.up = new Uint8Array(this.size).fill(1);
    this.inFlight = new Int32Array(this.size);
    this.eligible = new Uint8Array(this.size);
    this.pickCtx = { clientIp: '', hashKey: undefined, inFlight: this.inFlight };
    this.hashHeader = lb.algorithm === 'consistent_hash' && lb.hash.key === 'header' ? lb.hash.header?.toLowerCase() : undefined;
    this.closeAfterEachRequest = !lb.pool.keepAlive;
    this.maxRetries = lb.retries.max;
    this.budgetPercent = lb.retries.budgetPercent;
    this.minConcurrency = lb.retries.minConcurrency;
    this.requestMs = lb.timeouts.requestMs;
    this.tryMs = lb.timeouts.headersMs;
    this.passive = lb.health.passive.enabled;
  }

  /** Picks among healthy backends not in `tried` (null: none tried yet). */
  pick(clientIp: string, hashKey: string | undefined, tried: Uint8Array | null): number {
    const ctx = this.pickCtx;
    ctx.clientIp = clientIp;
    ctx.hashKey = hashKey;
    if (tried === null) return this.balancer.pick(ctx, this.up);
    const mask = this.eligible;
    for (let i = 0; i < this.size; i++) mask[i] = (this.up[i] ?? 0) & ((tried[i] ?? 1) ^ 1);
    return this.balancer.pick(ctx, mask);
  }
}
