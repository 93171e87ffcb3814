/**
 * Invalid reasons that say only that the load generator could not keep up
 * (its send loop lagged, or it ran out of CPU), as opposed to every other
 * reason a run is INVALID (a service died, connections were not
 * established, errors over the allowance, an unmeasured threshold).
 *
 * The difference matters on shared CI runners: there a noisy neighbour, not
 * the balancer, starves the generator, and `lbbench run --judge-saturated`
 * judges such a scenario on its figures instead of voiding it (exit 3).
 * Every producer of a saturation reason builds it here, so the one test
 * below recognizes them all, also in stored results and with the
 * `repeat i/n: ` prefix that repeats add.
 */

/** The phrase every saturation reason contains. */
const GENERATOR_SATURATED = 'the load generator was saturated';

/** `label: the load generator was saturated (detail)`; `label` names the run, e.g. `lb c1000`. */
export function generatorSaturatedReason(label: string, detail?: string, consequence?: string): string {
  const head = label === '' ? GENERATOR_SATURATED : `${label}: ${GENERATOR_SATURATED}`;
  return `${head}${detail ? ` (${detail})` : ''}${consequence ? ` ${consequence}` : ''}`;
}

/** Whether `reason` says only that the generator was saturated. */
export function isGeneratorSaturatedReason(reason: string): boolean {
  return reason.includes(GENERATOR_SATURATED);
}

/** Whether a scenario is INVALID for generator saturation alone: it has reasons, and each is one. */
export function invalidOnlyBySaturation(reasons: readonly string[]): boolean {
  return reasons.length > 0 && reasons.every(isGeneratorSaturatedReason);
}
