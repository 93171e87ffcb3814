import type { Balancer, BalancerBackend, BalancerFactory, PickContext } from './balancer.js';
import { BackendTable, lessLoaded, pickSmooth } from './backend-table.js';

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
    const { ids, weights, count } = this.table;
    const inFlight = ctx.inFlight;
    let best = -1;
    let ties = 0;
    for (let k = 0; k < count; k++) {
      const id = ids[k]!;
      if (eligible[id] !== 1) continue;
      if (best === -1 || lessLoaded(inFlight[id]!, weights[k]!, inFlight[ids[best]!]!, weights[best]!)) {
        best = k;
        ties = 1;
      } else if (!lessLoaded(inFlight[ids[best]!]!, weights[best]!, inFlight[id]!, weights[k]!)) {
        ties++;
      }
    }
    if (ties <= 1) return best === -1 ? -1 : ids[best]!;
    return pickSmooth(this.table, this.current, eligible, inFlight, inFlight[ids[best]!]!, weights[best]!);
  }
}

/** Factory for the registry. */
export const createLeastConnections: BalancerFactory = (backends) => new LeastConnectionsBalancer(backends);
