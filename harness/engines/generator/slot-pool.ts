/**
 * The generator's connections: one slot per connection, each holding at
 * most one request in flight. The pool opens and primes every connection
 * before the run, keeps each slot populated during it (reconnecting with
 * backoff when a connection fails or the server closes it), hands out idle
 * slots in FIFO order (so use rotates over every connection), and aborts
 * requests that outlive the timeout. It knows nothing of schedules or
 * windows: the pacer decides when to send and whether a request counts,
 * and the pool reports back through `SlotPoolHooks`.
 */
import { monoNowMs } from './clock.js';
import type { ParsedResponse } from './response-parser.js';
import type { Connection, ConnectionEvents, ConnectionFactory, RequestFailure } from './transport.js';

/** Reconnect backoff after a failed or closed connection, ms: first, cap. */
const RECONNECT_FIRST_MS = 50;
const RECONNECT_MAX_MS = 1000;

/** What the pool tells its owner. Called synchronously from socket events. */
export interface SlotPoolHooks {
  /** A slot became idle during the run. */
  onIdle(): void;
  /** A counted request's response completed; latency counts from `intendedMs`. */
  onResponse(intendedMs: number, r: ParsedResponse): void;
  /** A counted request failed. */
  onRequestFailed(kind: RequestFailure): void;
  /** A connection attempt failed (outside connect(), which retries). */
  onConnectFailed(): void;
}

/** Per-slot state of the request on a connection. */
interface Slot {
  conn: Connection | undefined;
  open: boolean;
  busy: boolean;
  /** Intended send time of the request in flight, monotonic ms. */
  intendedMs: number;
  sentMs: number;
  /** The request in flight is counted (belongs to the measured window). */
  recorded: boolean;
  /** Consecutive failed connects, for backoff. */
  failures: number;
  reconnectTimer: NodeJS.Timeout | undefined;
  /** The request in flight is the unrecorded primer of connect(). */
  priming: boolean;
  /** connect() is done with this slot (primed or failed). */
  settled: boolean;
}

/** Where a pool's connections go. */
export interface SlotPoolOptions {
  /** Connections (slots) to hold. */
  connections: number;
  /** Source addresses, used round-robin by slot; empty: the kernel chooses. */
  sourceAddresses: readonly string[];
  /** Connections being established at once by connect(). */
  connectConcurrency: number;
  /** Per-request timeout, ms; also bounds connect(). */
  timeoutMs: number;
}

export class SlotPool {
  private readonly slots: Slot[];
  /** FIFO of idle open slots. */
  private free: number[] = [];
  private freeHead = 0;
  private stopped = false;
  private readonly events: ConnectionEvents;
  private connectWaiter: (() => void) | undefined;
  /** Connections opened and primed by connect(). */
  established = 0;
  /** Requests on the wire, primers excluded. */
  inFlight = 0;

  constructor(
    private readonly options: SlotPoolOptions,
    private readonly factory: ConnectionFactory,
    private readonly hooks: SlotPoolHooks,
  ) {
    this.slots = Array.from({ length: options.connections }, () => ({
      conn: undefined,
      open: false,
      busy: false,
      intendedMs: 0,
      sentMs: 0,
      recorded: false,
      failures: 0,
      reconnectTimer: undefined,
      priming: false,
      settled: false,
    }));
    this.events = {
      onOpen: (c) => this.handleOpen(c),
      onResponse: (c, r) => this.handleResponse(c, r),
      onRequestFailed: (c, kind) => this.handleRequestFailed(c, kind),
      onConnectFailed: (c) => this.handleConnectFailed(c),
      onClosed: (c) => this.handleClosed(c),
    };
  }

  /**
   * Opens and primes every connection, at most `connectConcurrency` at a
   * time. Resolves with how many are open and primed, and how long it took.
   * Connections that failed are retried by `reopenFailed()`.
   */
  async connect(): Promise<{ connectionsEstablished: number; connectRampMs: number }> {
    const t0 = monoNowMs();
    const deadline = t0 + Math.max(this.options.timeoutMs, 5000) + this.options.connections * 2;
    let next = 0;
    let pending = 0;
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        if (this.stopped) return resolve();
        while (next < this.slots.length && pending < this.options.connectConcurrency) {
          pending++;
          this.openSlot(next++);
        }
        if (next >= this.slots.length && pending === 0) resolve();
      };
      // Each slot reports back once: primed, or failed.
      this.connectWaiter = () => {
        pending--;
        pump();
      };
      const guard = setTimeout(() => resolve(), Math.max(0, deadline - t0));
      guard.unref();
      pump();
    });
    this.connectWaiter = undefined;
    return { connectionsEstablished: this.established, connectRampMs: monoNowMs() - t0 };
  }

  /** Opens again every slot that has no connection and no reconnect pending
   * (those that failed during connect()). */
  reopenFailed(): void {
    this.slots.forEach((slot, i) => {
      if (!slot.conn && !slot.reconnectTimer) this.openSlot(i);
    });
  }

  /** The next idle open slot, or -1 when none is. */
  takeFree(): number {
    while (this.freeHead < this.free.length) {
      const i = this.free[this.freeHead++] ?? -1;
      if (this.freeHead > 1024 && this.freeHead * 2 > this.free.length) {
        this.free = this.free.slice(this.freeHead);
        this.freeHead = 0;
      }
      const s = this.slots[i];
      // A slot may have closed while it sat in the queue.
      if (s?.open && !s.busy) return i;
    }
    return -1;
  }

  /** Sends the request on idle slot `i` (from takeFree) at `now`; its
   * latency will count from `intendedMs`, and only if `recorded`. */
  send(i: number, intendedMs: number, now: number, recorded: boolean): void {
    const slot = this.slots[i];
    const conn = slot?.open && !slot.busy ? slot.conn : undefined;
    if (!slot || !conn) throw new RangeError(`slot ${i} is not idle: send only on a slot takeFree() returned`);
    slot.busy = true;
    slot.intendedMs = intendedMs;
    slot.sentMs = now;
    slot.recorded = recorded;
    this.inFlight++;
    conn.send();
  }

  /** Aborts, as `timeout`, every request sent more than `timeoutMs` before `now`. */
  checkTimeouts(now: number): void {
    const limit = this.options.timeoutMs;
    for (const slot of this.slots) {
      if (slot.busy && slot.conn && now - slot.sentMs > limit) slot.conn.abort('timeout');
    }
  }

  /** Closes every connection, cancels every reconnect and ends a pending
   * connect(); final. */
  close(): void {
    this.stopped = true;
    for (const slot of this.slots) {
      if (slot.reconnectTimer) clearTimeout(slot.reconnectTimer);
      slot.conn?.abort();
    }
  }

  // ---- connection events ----

  private openSlot(i: number): void {
    const slot = this.slots[i];
    if (!slot) return;
    slot.open = false;
    slot.busy = false;
    const addrs = this.options.sourceAddresses;
    slot.conn = this.factory(i, addrs.length ? addrs[i % addrs.length] : undefined, this.events);
    slot.conn.connect();
  }

  private handleOpen(c: Connection): void {
    const slot = this.slots[c.slot];
    if (slot?.conn !== c) return;
    slot.open = true;
    if (this.connectWaiter && !slot.settled) {
      // Prime: one unrecorded request proves the server accepted the
      // connection (a busy Node server leaves it in the accept queue).
      slot.priming = true;
      slot.busy = true;
      slot.sentMs = monoNowMs();
      c.send();
      return;
    }
    slot.failures = 0;
    this.release(c.slot);
  }

  private handleResponse(c: Connection, r: ParsedResponse): void {
    const slot = this.slots[c.slot];
    if (slot?.conn !== c || !slot.busy) return;
    slot.busy = false;
    slot.failures = 0;
    if (slot.priming) {
      slot.priming = false;
      if (this.connectWaiter && !slot.settled) {
        slot.settled = true;
        this.established++;
        this.connectWaiter();
      }
      if (r.close) slot.open = false;
      else this.release(c.slot);
      return;
    }
    this.inFlight--;
    if (slot.recorded) this.hooks.onResponse(slot.intendedMs, r);
    if (r.close) slot.open = false;
    else this.release(c.slot);
  }

  private handleRequestFailed(c: Connection, kind: RequestFailure): void {
    const slot = this.slots[c.slot];
    if (slot?.conn !== c || !slot.busy) return;
    slot.busy = false;
    slot.open = false;
    if (slot.priming) {
      slot.priming = false;
      return;
    }
    this.inFlight--;
    if (slot.recorded) this.hooks.onRequestFailed(kind);
  }

  private handleConnectFailed(c: Connection): void {
    const slot = this.slots[c.slot];
    if (slot?.conn !== c) return;
    slot.failures++;
    this.hooks.onConnectFailed();
  }

  private handleClosed(c: Connection): void {
    const slot = this.slots[c.slot];
    if (slot?.conn !== c) return;
    if (slot.busy && !slot.priming) this.inFlight--;
    slot.busy = false;
    slot.priming = false;
    slot.open = false;
    slot.conn = undefined;
    if (this.connectWaiter && !slot.settled) {
      // Failed while connecting or priming: not established; reopenFailed() retries it.
      slot.settled = true;
      slot.failures++;
      this.connectWaiter();
      return;
    }
    if (this.stopped) return;
    // Keep the slot populated: a server closing idle keep-alive connections
    // or a failed connect must not shrink the connection count.
    const delay = slot.failures === 0 ? 0 : Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** (slot.failures - 1));
    slot.reconnectTimer = setTimeout(() => {
      slot.reconnectTimer = undefined;
      if (!this.stopped && !slot.conn) this.openSlot(c.slot);
    }, delay);
  }

  private release(i: number): void {
    this.free.push(i);
    this.hooks.onIdle();
  }
}
