/**
 * The balancing-algorithm contract. Algorithms are pure: no I/O, no timers,
 * no knowledge of health. The proxy tells them which backends are eligible
 * (healthy and not yet tried by this request) through a mask, so a retry can
 * ask for "any other backend" without allocating.
 */

/** A backend as an algorithm sees it. `index` is its position in the config. */
export interface BalancerBackend {
  readonly index: number;
  readonly name: string;
  /** Integer >= 1. */
  readonly weight: number;
}

/** Per-request inputs. One object may be reused across requests. */
export interface PickContext {
  /** Client IP (consistent_hash with key client_ip). */
  clientIp: string;
  /** Value of the configured hash header, or undefined (consistent_hash with key header;
   * falls back to clientIp when undefined). */
  hashKey: string | undefined;
  /** In-flight requests per backend index, maintained by the proxy
   * (least_connections, power_of_two_choices). */
  inFlight: Int32Array;
}

export interface Balancer {
  /**
   * Picks a backend index among those with `eligible[i] === 1`, or -1 when
   * none is eligible. Stateful algorithms (round robin) advance their state
   * only when they return a backend.
   */
  pick(ctx: PickContext, eligible: Uint8Array): number;
}

/** Options every factory receives. */
export interface BalancerOptions {
  /** Uniform random in [0, 1); injected so tests are exact. Default Math.random. */
  random?: () => number;
  /** consistent_hash: virtual nodes per unit of weight. Default 100. */
  virtualNodes?: number;
}

export type BalancerFactory = (backends: readonly BalancerBackend[], options: BalancerOptions) => Balancer;
