import type { Balancer, BalancerBackend, BalancerFactory, PickContext } from './balancer.js';
import { BackendTable, inFlightOf, lessLoaded, pickSmooth } from './backend-table.js';

/**
 * `least_connections`, weighted as nginx's least_conn: the eligible backend
 * with the lowest `inFlight / weight`; ties are broken by smooth weighted
 * round robin among the tied backends only, so with equal in-flight counts it
 * behaves exactly like `weighted_round_robin`.
 */
export class LeastConnectionsBalancer implements Balancer {
  private readonly table: BackendTable;
  /** Smooth-WRR current weight per list position (tie-breaking state). */
  private readonly current: Int32Array;

  constructor(backends: readonly BalancerBackend[]) {
    this.table = new BackendTable(backends);
    this.current = new Int32Array(backends.length);
  }

  pick(ctx: PickContext, eligible: Uint8Array): number {
    const table = this.table;
    const inFlight = ctx.inFlight;
    let best = -1;
    let bestLoad = 0;
    let bestWeight = 0;
    let ties = 0;
    for (let k = 0; k < table.count; k++) {
      const id = table.idAt(k);
      if (eligible[id] !== 1) continue;
      const load = inFlightOf(inFlight, id);
      const weight = table.weightAt(k);
      if (best === -1 || lessLoaded(load, weight, bestLoad, bestWeight)) {
        best = k;
        bestLoad = load;
        bestWeight = weight;
        ties = 1;
      } else if (!lessLoaded(bestLoad, bestWeight, load, weight)) {
        ties++;
      }
    }
    if (ties <= 1) return best === -1 ? -1 : table.idAt(best);
    return pickSmooth(table, this.current, eligible, inFlight, bestLoad, bestWeight);
  }
}

/** Factory for the registry. */
export const createLeastConnections: BalancerFactory = (backends) => new LeastConnectionsBalancer(backends);
