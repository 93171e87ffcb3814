import type { Balancer, BalancerBackend, BalancerFactory, PickContext } from './balancer.js';
import { BackendTable } from './backend-table.js';

/**
 * `round_robin`: each eligible backend in turn, weights ignored. The cursor
 * moves past the backend returned, so a retry that masks the backend just
 * tried gets the next one in order.
 */
export class RoundRobinBalancer implements Balancer {
  private readonly table: BackendTable;
  /** List position the next search starts at. */
  private cursor = 0;

  constructor(backends: readonly BalancerBackend[]) {
    this.table = new BackendTable(backends);
  }

  pick(_ctx: PickContext, eligible: Uint8Array): number {
    const table = this.table;
    const count = table.count;
    for (let step = 0; step < count; step++) {
      let k = this.cursor + step;
      if (k >= count) k -= count;
      const id = table.idAt(k);
      if (eligible[id] === 1) {
        this.cursor = k + 1 === count ? 0 : k + 1;
        return id;
      }
    }
    return -1;
  }
}

/** Factory for the registry. */
export const createRoundRobin: BalancerFactory = (backends) => new RoundRobinBalancer(backends);
