import type { Balancer, BalancerBackend, BalancerFactory, BalancerOptions, PickContext } from './balancer.js';
import { BackendTable, drawWeighted } from './backend-table.js';

/**
 * `random`: an eligible backend with probability proportional to its weight,
 * from the injected random source (one draw per pick).
 */
export class RandomBalancer implements Balancer {
  private readonly table: BackendTable;
  private readonly random: () => number;

  constructor(backends: readonly BalancerBackend[], options: BalancerOptions = {}) {
    this.table = new BackendTable(backends);
    this.random = options.random ?? Math.random;
  }

  pick(_ctx: PickContext, eligible: Uint8Array): number {
    const k = drawWeighted(this.table, eligible, this.random(), -1);
    return k === -1 ? -1 : this.table.idAt(k);
  }
}

/** Factory for the registry. */
export const createRandom: BalancerFactory = (backends, options) => new RandomBalancer(backends, options);
