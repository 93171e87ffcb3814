/**
 * Scripted `net` backends that write exact bytes (misbehaving responses),
 * and a raw client exchange, for the upstream tests.
 */
import net from 'node:net';
import { once } from 'node:events';

/** A raw backend: `reply(request head text, socket)` is called once per request head. */
export interface RawBackend {
  url: string;
  /** Connections accepted so far. */
  connections: number;
  /** Request heads received, in order. */
  heads: string[];
  close(): Promise<void>;
}

/** Starts a raw backend on 127.0.0.1, port 0. Request bodies with a Content-Length are skipped. */
export async function rawBackend(reply: (head: string, socket: net.Socket, index: number) => void): Promise<RawBackend> {
  const sockets = new Set<net.Socket>();
  const b: RawBackend = {
    url: '',
    connections: 0,
    heads: [],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = net.createServer((socket) => {
    b.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      buf += d;
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const m = /content-length: *(\d+)/i.exec(head);
        if (m) buf = buf.slice(Number(m[1]));
        b.heads.push(head);
        reply(head, socket, b.heads.length - 1);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  b.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return b;
}

/** Sends raw bytes, resolves everything read until the balancer closes or `ms` pass. */
export function rawExchange(port: number, text: string, ms = 1_500): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (out += d));
    s.on('error', () => {});
    const timer = setTimeout(() => s.destroy(), ms);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}
