/**
 * Line-splitting of child-process output, with each line prefixed by the
 * child's name (docker-compose style: `backend-8001 | listening`).
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** Longest partial line kept while waiting for its newline, chars. Longer
 * lines are emitted in pieces so a child cannot grow the harness's memory. */
const MAX_LINE_CHARS = 16_384;

/**
 * Calls `onLine` for every complete line read from `stream` (without the
 * newline, `\r\n` handled), and for the last unterminated line at the end.
 * Never throws: stream errors end the reading.
 */
export function forEachLine(stream: Readable, onLine: (line: string) => void): void {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const emit = (line: string): void => {
    try {
      onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    } catch {
      // A faulty consumer must not break the pipe of a child we still need to drain.
    }
  };
  stream.on('data', (chunk: Buffer | string) => {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      emit(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
    if (pending.length > MAX_LINE_CHARS) {
      emit(pending);
      pending = '';
    }
  });
  const finish = (): void => {
    pending += decoder.end();
    if (pending) emit(pending);
    pending = '';
  };
  stream.once('end', finish);
  stream.once('error', finish);
}

/** `name` padded to `width`, then ` | ` and the line. */
export function prefixLine(name: string, line: string, width = name.length): string {
  return `${name.padEnd(width)} | ${line}`;
}

/** Keeps the last `max` lines (e.g. a child's stderr, for error messages). */
export class LineRing {
  private readonly lines: string[] = [];
  constructor(private readonly max = 20) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  /** The kept lines, oldest first. */
  toArray(): string[] {
    return [...this.lines];
  }
}
