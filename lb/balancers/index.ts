import type { AlgorithmName } from '../../common/config.js';
import { LbbenchError } from '../../common/errors.js';
import { ExitCode } from '../../common/exit-codes.js';
import type { Balancer, BalancerBackend, BalancerFactory, BalancerOptions } from './balancer.js';
import { createConsistentHash } from './consistent-hash.js';
import { createLeastConnections } from './least-connections.js';
import { createPowerOfTwoChoices } from './power-of-two-choices.js';
import { createRandom } from './random.js';
import { createRoundRobin } from './round-robin.js';
import { createWeightedRoundRobin } from './weighted-round-robin.js';
import { ErrorCode } from '../../common/error-codes.js';

export type { Balancer, BalancerBackend, BalancerFactory, BalancerOptions, PickContext } from './balancer.js';

/** Every algorithm by its config name (`lb.algorithm`); one file each. */
export const BALANCERS: Readonly<Record<AlgorithmName, BalancerFactory>> = Object.freeze({
  round_robin: createRoundRobin,
  weighted_round_robin: createWeightedRoundRobin,
  least_connections: createLeastConnections,
  random: createRandom,
  power_of_two_choices: createPowerOfTwoChoices,
  consistent_hash: createConsistentHash,
});

/**
 * Builds the balancer `name` over `backends`. Build a new one whenever the
 * backend list changes (algorithms keep per-position state).
 *
 * @throws LbbenchError `LBB_ERR_UNKNOWN_ALGORITHM` for a name not in BALANCERS,
 *   `LBB_ERR_BAD_BACKEND` for a weight that is not an integer >= 1 (both exit 2;
 *   the config schema rules both out, so only direct callers can hit them).
 */
export function createBalancer(name: AlgorithmName, backends: readonly BalancerBackend[], options: BalancerOptions = {}): Balancer {
  const factory = Object.hasOwn(BALANCERS, name) ? BALANCERS[name] : undefined;
  if (factory === undefined) {
    throw new LbbenchError(
      ErrorCode.UNKNOWN_ALGORITHM,
      `unknown balancing algorithm ${JSON.stringify(name)}; expected one of ${Object.keys(BALANCERS).join(', ')}`,
      {
        exitCode: ExitCode.BAD_INPUT,
      },
    );
  }
  for (const b of backends) {
    if (!Number.isInteger(b.weight) || b.weight < 1) {
      throw new LbbenchError(ErrorCode.BAD_BACKEND, `backend ${b.name}: weight ${b.weight} is not an integer >= 1`, {
        exitCode: ExitCode.BAD_INPUT,
      });
    }
  }
  return factory(backends, options);
}
