/**
 * Entry of a balancer worker process (forked by lb/primary.ts). It waits
 * for its config from the primary, then serves the proxy on its own
 * SO_REUSEPORT socket or the cluster's shared one (lb/accept-mode.ts). It ignores SIGINT/SIGHUP (the primary decides); SIGTERM
 * or a `lb:drain` message drains and exits 0.
 */
import cluster from 'node:cluster';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { LbConfig } from '../common/config.js';
import { isLbMessage, type PrimaryMessage, type WorkerMessage } from './ipc.js';
import { logLine, setLogPrefix } from './log.js';
import { ProxyCore } from './proxy.js';

/** Listen queue length asked for (the kernel caps it at net.core.somaxconn).
 * Node's default, 511, overflows when 1,000 clients connect at once, and an
 * overflowed SYN is retried only after a second. */
const LISTEN_BACKLOG = 4096;

/** SO_REUSEPORT sockets each worker binds (accept: reuseport). libuv takes
 * one connection per listening socket per event-loop turn, so a busy worker
 * with one socket drains a burst of new connections slowly; with several,
 * each turn takes one from each. Their connections all go to the one
 * ProxyCore. */
const ACCEPT_SOCKETS_PER_WORKER = 4;

/** The extra accept sockets of this worker (beyond the main server's own). */
const extraListeners: net.Server[] = [];

setLogPrefix(`[lb worker ${cluster.worker?.id ?? process.pid}]`);

function send(msg: WorkerMessage): void {
  if (!process.connected || !process.send) return;
  try {
    process.send(msg);
  } catch {
    // The primary is gone; 'disconnect' handles that.
  }
}

const core = new ProxyCore({
  reportPassiveFailure(generation, index, reason) {
    send({ t: 'lb:passive', generation, index, reason });
  },
});
let server: net.Server | null = null;
let lb: LbConfig | null = null;
let draining = false;

function drainAndExit(drainMs: number): void {
  if (draining) return;
  draining = true;
  const done = () => process.exit(0);
  if (server === null) return done();
  for (const l of extraListeners) l.close();
  core.drain(server, drainMs).then(done, done);
}

process.on('message', (raw: unknown) => {
  if (!isLbMessage(raw)) return;
  const msg = raw as PrimaryMessage;
  switch (msg.t) {
    case 'lb:config': {
      lb = msg.lb;
      core.applyConfig(msg.lb, msg.generation, msg.states);
      if (server !== null) return;
      const s = core.createServer();
      server = s;
      s.once('error', (err) => {
        send({ t: 'lb:listen-error', message: err.message });
        setTimeout(() => process.exit(1), 50);
      });
      // exclusive: the worker binds its own socket instead of asking the
      // primary for the cluster handle; with reusePort the kernel spreads
      // connections over the workers' sockets.
      const base = { port: msg.listenPort, host: msg.lb.listen.host, backlog: LISTEN_BACKLOG };
      const options = msg.reusePort ? { ...base, exclusive: true, reusePort: true } : base;
      s.listen(options as net.ListenOptions, () => {
        const port = (s.address() as AddressInfo).port;
        if (!msg.reusePort) return send({ t: 'lb:listening', port });
        const all = [];
        for (let i = 1; i < ACCEPT_SOCKETS_PER_WORKER; i++) {
          const extra = core.createServer();
          extraListeners.push(extra);
          all.push(
            new Promise<void>((resolve, reject) => {
              extra.once('error', reject);
              extra.listen({ ...options, port } as net.ListenOptions, () => resolve());
            }),
          );
        }
        Promise.all(all).then(
          () => send({ t: 'lb:listening', port }),
          (err: Error) => s.emit('error', err),
        );
      });
      return;
    }
    case 'lb:health':
      core.setHealth(msg.generation, msg.index, msg.up);
      return;
    case 'lb:snapshot':
      send({ t: 'lb:snapshot', id: msg.id, snapshot: core.counters.snapshot() });
      return;
    case 'lb:drain':
      drainAndExit(msg.drainMs);
      return;
  }
});

// Ctrl-C and a closing terminal reach every process of the group: let the
// primary coordinate.
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
process.on('SIGTERM', () => drainAndExit(lb?.timeouts.drainMs ?? 10_000));
process.on('disconnect', () => {
  // No primary: nobody hands us connections or health any more.
  drainAndExit(Math.min(lb?.timeouts.drainMs ?? 1_000, 2_000));
});
process.on('uncaughtException', (err) => {
  logLine(`uncaught exception, exiting for a restart: ${err.stack ?? err.message}`);
  process.exit(1);
});

send({ t: 'lb:ready' });
