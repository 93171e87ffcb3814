/**
 * A real HTTP server on 127.0.0.1:0 for engine tests, scripted to misbehave:
 * every `status503Every`-th response is a 503 and every `rstEvery`-th
 * request is answered with a TCP RST. It records the first 10 requests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  header?: string;
  body: string;
}

export interface ScriptedServer {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

export async function startScriptedServer(opts: { status503Every?: number; rstEvery?: number } = {}): Promise<ScriptedServer> {
  let n = 0;
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    n++;
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (seen.length < 10) seen.push({ method: req.method ?? '', header: req.headers['x-lbbench-test'] as string | undefined, body });
      if (opts.rstEvery && n % opts.rstEvery === 0) {
        req.socket.resetAndDestroy();
        return;
      }
      res.statusCode = opts.status503Every && n % opts.status503Every === 0 ? 503 : 200;
      res.end('hello\n');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
