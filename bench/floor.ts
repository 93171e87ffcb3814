/**
 * Reference floors for the peer benchmark (not a balancer): what Node itself
 * costs per proxied request on this machine, measured in the same run as
 * lbbench, nginx and HAProxy (`peers --targets floor:pipe,floor:parse,...`).
 *
 *   node dist/bench/floor.js --mode pipe|parse --port N --backends P1,P2,P3 [--workers 2]
 *
 * - `pipe`: each client socket gets its own upstream socket (round robin over
 *   the backends) and bytes are copied both ways, untouched. No HTTP at all:
 *   the cost of two `net.Socket`s and their reads and writes, the least any
 *   Node proxy pays.
 * - `parse`: the same, plus Node's llhttp parser (`_http_common`, the one
 *   lb/ uses) run over every byte both ways, with callbacks that do nothing.
 *   The difference to `pipe` is what parsing alone costs.
 *
 * It answers only what the backends answer (no retries, health, limits or
 * timeouts): a ruler, never something to put in front of users. Workers
 * accept from one shared socket (node:cluster SCHED_NONE); SIGTERM or
 * SIGINT stops the primary and with it the workers.
 */
import cluster from 'node:cluster';
import net from 'node:net';
import { HTTPParser } from '_http_common';

type Mode = 'pipe' | 'parse';

interface FloorOptions {
  mode: Mode;
  port: number;
  backends: number[];
  workers: number;
}

function fail(message: string): never {
  process.stderr.write(`floor: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): FloorOptions {
  const o: Partial<FloorOptions> = { workers: 2 };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) fail(`${flag} needs a value`);
    const port = (v: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 65_535) fail(`${flag}: expected a port, got ${JSON.stringify(v)}`);
      return n;
    };
    switch (flag) {
      case '--mode':
        if (value !== 'pipe' && value !== 'parse') fail(`--mode: expected pipe or parse, got ${JSON.stringify(value)}`);
        o.mode = value;
        break;
      case '--port':
        o.port = port(value);
        break;
      case '--backends':
        o.backends = value.split(',').map(port);
        break;
      case '--workers':
        o.workers = Number(value);
        if (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > 64) fail(`--workers: expected 1-64, got ${JSON.stringify(value)}`);
        break;
      default:
        fail(`unknown option ${JSON.stringify(flag)}`);
    }
  }
  if (o.mode === undefined || o.port === undefined || o.backends === undefined || o.backends.length === 0)
    fail('usage: floor.js --mode pipe|parse --port N --backends P1,P2,... [--workers N]');
  return o as FloorOptions;
}

interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): unknown;
  close(): void;
  [key: number]: unknown;
}

function ignore(): void {}
/** kOnHeadersComplete: 0 = the message has a body as its framing says. */
function readBody(): number {
  return 0;
}

function idleParser(type: number): Parser {
  const p = new HTTPParser() as Parser;
  p[HTTPParser.kOnHeaders as number] = ignore;
  p[HTTPParser.kOnHeadersComplete as number] = readBody;
  p[HTTPParser.kOnBody as number] = ignore;
  p[HTTPParser.kOnMessageComplete as number] = ignore;
  p[HTTPParser.kOnExecute as number] = ignore;
  p.initialize(type, {}, 65_536, 0);
  return p;
}

function serve(o: FloorOptions): void {
  let next = 0;
  const server = net.createServer({ noDelay: true }, (client) => {
    const port = o.backends[next++ % o.backends.length] ?? 0;
    const upstream = net.connect({ port, host: '127.0.0.1', noDelay: true });
    // Pipe mode parses nothing; parse mode runs each direction through its parser.
    const requests = o.mode === 'parse' ? idleParser(HTTPParser.REQUEST as number) : null;
    const responses = o.mode === 'parse' ? idleParser(HTTPParser.RESPONSE as number) : null;
    client.on('data', (d: Buffer) => {
      requests?.execute(d);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      responses?.execute(d);
      client.write(d);
    });
    client.on('close', () => {
      requests?.close();
      responses?.close();
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
    client.on('error', ignore);
    upstream.on('error', ignore);
  });
  server.listen(o.port, '127.0.0.1');
}

const options = parseArgs(process.argv.slice(2));
if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < options.workers; i++) cluster.fork();
  const stop = (): void => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else serve(options);
