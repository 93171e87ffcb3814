import type { Balancer, BalancerBackend, BalancerFactory, PickContext } from './balancer.js';
import { BackendTable, pickSmooth } from './backend-table.js';

/**
 * `weighted_round_robin`: nginx's smooth weighted round robin. At every
 * prefix of the pick sequence each backend is within one pick of its exact
 * share, and picks of one backend are spread out rather than bunched
 * (weights 5,1,1 give a,a,b,a,c,a,a). Ineligible backends sit the round out
 * and keep their current weight.
 */
export class WeightedRoundRobinBalancer implements Balancer {
  private readonly table: BackendTable;
  /** nginx's `current_weight` per list position. */
  private readonly current: Int32Array;

  constructor(backends: readonly BalancerBackend[]) {
    this.table = new BackendTable(backends);
    this.current = new Int32Array(backends.length);
  }

  pick(_ctx: PickContext, eligible: Uint8Array): number {
    return pickSmooth(this.table, this.current, eligible, null, 0, 1);
  }
}

/** Factory for the registry. */
export const createWeightedRoundRobin: BalancerFactory = (backends) => new WeightedRoundRobinBalancer(backends);
