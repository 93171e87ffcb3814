import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { ErrorCode, type ErrorCodeValue } from './error-codes.js';

/**
 * Base class of every error lbbench raises on purpose. `code` is a stable
 * string, one of ErrorCode (common/error-codes.ts); `exitCode` is what the CLI exits with when the error
 * reaches it. Wrap the underlying error in `cause`; never swallow it.
 */
export class LbbenchError extends Error {
  readonly code: ErrorCodeValue;
  readonly exitCode: ExitCodeValue;
  constructor(code: ErrorCodeValue, message: string, options: { cause?: unknown; exitCode?: ExitCodeValue } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.INVALID_RUN;
  }
}

/** One problem found while validating an input file. */
export interface InputIssue {
  /** File the problem is in, as given by the user. */
  file: string;
  /** 1-based line in that file, when it could be located. */
  line?: number;
  /** Field path, e.g. `lb.backends[1].weight`; empty for the whole document. */
  path: string;
  /** What was wrong: includes the value received and what was expected. */
  message: string;
}

/** Formats one issue as `file:line: path: message`. */
export function formatIssue(issue: InputIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/**
 * A config or scenario file was missing or invalid. Carries every issue found,
 * not only the first, and exits with BAD_INPUT (2).
 */
export class InputError extends LbbenchError {
  readonly issues: readonly InputIssue[];
  constructor(issues: InputIssue[], options: { cause?: unknown } = {}) {
    const head = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(ErrorCode.BAD_INPUT, `${head}:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`, {
      ...options,
      exitCode: ExitCode.BAD_INPUT,
    });
    this.issues = issues;
  }
}

/** Bad command-line usage (unknown scenario, bad flag value). Exits 2. */
export class UsageError extends LbbenchError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(ErrorCode.USAGE, message, { ...options, exitCode: ExitCode.BAD_INPUT });
  }
}

/** A run could not be trusted or could not happen (a service did not start,
 * a port was busy, a process died). Exits 3. */
export class InvalidRunError extends LbbenchError {
  constructor(code: ErrorCodeValue, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: ExitCode.INVALID_RUN });
  }
}
