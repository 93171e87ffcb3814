/**
 * The balancer's log: one line per lifecycle event or backend state change,
 * to stderr, prefixed `[lb]`. Nothing is logged per request.
 */

/** Where log lines go; tests may capture them. Default: stderr. */
export type LogSink = (line: string) => void;

const stderrSink: LogSink = (line) => {
  process.stderr.write(line + '\n');
};

let sink: LogSink = stderrSink;
let prefix = '[lb]';

/** Writes one line, e.g. `[lb] backend-8002 DOWN (passive: connect ECONNREFUSED)`. */
export function logLine(message: string): void {
  sink(`${prefix} ${message}`);
}

/** Replaces the sink; `null` restores stderr. Returns the previous sink. */
export function setLogSink(next: LogSink | null): LogSink {
  const prev = sink;
  sink = next ?? stderrSink;
  return prev;
}

/** Sets the line prefix, e.g. `[lb worker 2]`. Default `[lb]`. */
export function setLogPrefix(next: string): void {
  prefix = next;
}
