/**
 * The backend as a process: `lbbench backend --port N` ends up here.
 */
import { createBackendServer, type BackendOptions } from './server.js';

/** Prefix of the line printed once listening; the harness waits for it. */
export const READY_PREFIX = 'lbbench-backend ready';

/** Hooks for running a backend in-process (tests); the CLI passes none. */
export interface RunBackendIo {
  /** Stops the backend like SIGTERM does. Default: none. */
  signal?: AbortSignal;
  /** Where the ready line goes. Default `process.stdout`. */
  stdout?: NodeJS.WritableStream;
}

/**
 * Listens, prints `lbbench-backend ready name=<name> port=<port>` to stdout,
 * runs until SIGTERM or SIGINT (or `io.signal`), then closes, letting
 * in-flight requests finish within `drainMs` (default 2 s), and resolves.
 * Process metrics are on unless `opts.processMetrics` is false. Rejects with
 * InvalidRunError (exit 3) if the port is busy, UsageError (exit 2) on bad
 * options.
 */
export async function runBackend(opts: BackendOptions, io: RunBackendIo = {}): Promise<void> {
  const server = createBackendServer({ processMetrics: true, ...opts });
  const port = await server.listen();
  (io.stdout ?? process.stdout).write(`${READY_PREFIX} name=${server.name} port=${port}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener('abort', stop);
  });
  await server.close();
}
