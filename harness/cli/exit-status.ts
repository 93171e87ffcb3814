/**
 * The exit status a command wants, for outcomes that are not errors (a
 * threshold failed: 1; a run was invalid: 3). Commands call
 * `requestExitCode`; only harness/cli/main.ts reads it and calls process.exit.
 * The most severe code wins (3 > 2 > 1 > 0).
 */
import type { ExitCodeValue } from '../../common/exit-codes.js';

let requested: ExitCodeValue = 0;

export function requestExitCode(code: ExitCodeValue): void {
  if (code > requested) requested = code;
}

export function requestedExitCode(): ExitCodeValue {
  return requested;
}
