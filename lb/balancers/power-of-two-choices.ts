import type { Balancer, BalancerBackend, BalancerFactory, BalancerOptions, PickContext } from './balancer.js';
import { BackendTable, drawWeighted, inFlightOf, lessLoaded } from './backend-table.js';

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
    const table = this.table;
    const first = drawWeighted(table, eligible, this.random(), -1);
    if (first === -1) return -1;
    const second = drawWeighted(table, eligible, this.random(), first);
    const firstId = table.idAt(first);
    if (second === -1) return firstId;
    const secondId = table.idAt(second);
    const inFlight = ctx.inFlight;
    return lessLoaded(inFlightOf(inFlight, secondId), table.weightAt(second), inFlightOf(inFlight, firstId), table.weightAt(first)) ? secondId : firstId;
  }
}

/** Factory for the registry. */
export const createPowerOfTwoChoices: BalancerFactory = (backends, options) => new PowerOfTwoChoicesBalancer(backends, options);
