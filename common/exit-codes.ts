/**
 * Process exit codes of the `lbbench` CLI. Only the CLI entry calls
 * `process.exit`; everything else throws typed errors that map to these.
 * Listed in README; CI gates depend on them, so keep them stable.
 */
export const ExitCode = {
  /** Every threshold held (or the verb had no thresholds to judge). */
  OK: 0,
  /** The run was valid and at least one threshold failed. */
  THRESHOLD_FAILED: 1,
  /** Bad usage, config or scenario file; nothing was started. */
  BAD_INPUT: 2,
  /** The run itself was invalid: a service did not start or died, the
   * generator was the bottleneck, connections were not established, or the
   * errors exceeded the scenario's allowance. */
  INVALID_RUN: 3,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
