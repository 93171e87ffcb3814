import type { Balancer, BalancerBackend, BalancerFactory, BalancerOptions, PickContext } from './balancer.js';
import { BackendTable, drawWeighted, lessLoaded } from './backend-table.js';

/**
 * `power_of_two_choices`: two distinct weighted-random eligible backends; the
 * one with the lower `inFlight / weight` wins, the first on a tie. Uses two
 * draws from the random source per pick that finds an eligible backend; with
 * a single eligible backend, that one.
 */
export class PowerOfTwoChoicesBalancer implements Balancer {
  private readonly table: BackendTable;
  private readonly random: () => number;

  constructor(backends: readonly BalancerBackend[], options: BalancerOptions = {}) {
    this.table = new BackendTable(backends);
    this.random = options.random ?? Math.random;
  }

  pick(ctx: PickContext, eligible: Uint8Array): number {
    const { ids, weights } = this.table;
    const first = drawWeighted(this.table, eligible, this.random(), -1);
    if (first === -1) return -1;
    const second = drawWeighted(this.table, eligible, this.random(), first);
    if (second === -1) return ids[first]!;
    const inFlight = ctx.inFlight;
    return lessLoaded(inFlight[ids[second]!]!, weights[second]!, inFlight[ids[first]!]!, weights[first]!) ? ids[second]! : ids[first]!;
  }
}

/** Factory for the registry. */
export const createPowerOfTwoChoices: BalancerFactory = (backends, options) => new PowerOfTwoChoicesBalancer(backends, options);
