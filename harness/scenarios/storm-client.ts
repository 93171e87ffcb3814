/**
 * A connection storm from the harness process: `connections` fresh TCP
 * connections opened in one synchronous burst, each sending one request
 * (`Connection: close`), each timed from the burst's start to its complete
 * response: what a crowd of new clients arriving at once sees, accept
 * queue, handshake and serving included. A connection not served within
 * `timeoutMs` is cut and counted as a timeout.
 *
 * In-process on purpose: the burst is one loop of `net.connect` calls, and
 * the harness is idle while the engines' generator processes carry the
 * steady load.
 */
import net from 'node:net';
import { encodeRequest } from '../engines/generator/net-transport.js';
import { ResponseParser } from '../engines/generator/response-parser.js';

/** What to storm. */
export interface StormSpec {
  /** e.g. `http://127.0.0.1:8080/echo`; loopback. */
  url: string;
  /** Fresh connections opened at once. */
  connections: number;
  /** A connection not served within this is cut and counted as a timeout, ms. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** What the storm saw. Times in µs from the burst's start. */
export interface StormResult {
  connections: number;
  /** Served with a 2xx answer. */
  served: number;
  /** Time from the burst's start to each 2xx answer, µs, in completion order. */
  servedUs: number[];
  timeouts: number;
  /** Failures other than timeouts, by kind: `connect`, `reset`, `parse`, `non2xx`. */
  errors: Record<string, number>;
  /** When the last connection was served, µs from the start; null unless every one was. */
  allServedUs: number | null;
}

/** Opens the storm and resolves once every connection has been served, failed or timed out. */
export function runStorm(spec: StormSpec): Promise<StormResult> {
  const target = new URL(spec.url);
  const port = Number(target.port || 80);
  const request = encodeRequest({ host: target.hostname, port, path: `${target.pathname}${target.search}`, method: 'GET', headers: { connection: 'close' } });
  const result: StormResult = { connections: spec.connections, served: 0, servedUs: [], timeouts: 0, errors: {}, allServedUs: null };
  const sockets = new Set<net.Socket>();
  return new Promise((resolve) => {
    let pending = spec.connections;
    const t0 = process.hrtime.bigint();
    const elapsedUs = (): number => Number(process.hrtime.bigint() - t0) / 1000;
    const timer = setTimeout(() => {
      for (const s of sockets) s.destroy(new Error('timeout'));
    }, spec.timeoutMs);
    const onAbort = (): void => {
      for (const s of sockets) s.destroy(new Error('aborted'));
    };
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => {
      if (--pending > 0) return;
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
      if (result.served === spec.connections) result.allServedUs = Math.max(...result.servedUs);
      resolve(result);
    };
    const fail = (kind: string): void => {
      result.errors[kind] = (result.errors[kind] ?? 0) + 1;
    };
    for (let i = 0; i < spec.connections; i++) {
      const parser = new ResponseParser();
      parser.expect(true);
      let done = false;
      let connected = false;
      const socket = net.connect({ host: target.hostname, port, noDelay: true });
      sockets.add(socket);
      const finish = (outcome: (() => void) | undefined): void => {
        if (done) return;
        done = true;
        outcome?.();
        sockets.delete(socket);
        socket.destroy();
        settle();
      };
      socket.on('connect', () => {
        connected = true;
        socket.write(request);
      });
      socket.on('data', (chunk: Buffer) => {
        try {
          parser.execute(chunk, (r) =>
            finish(() => {
              if (r.status >= 200 && r.status < 300) {
                result.served++;
                result.servedUs.push(elapsedUs());
              } else fail('non2xx');
            }),
          );
        } catch {
          finish(() => fail('parse'));
        }
      });
      socket.on('error', (err) => finish(() => (err.message === 'timeout' ? result.timeouts++ : fail(connected ? 'reset' : 'connect'))));
      socket.on('close', () => finish(() => fail(connected ? 'reset' : 'connect')));
    }
  });
}
